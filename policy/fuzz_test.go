package policy

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// FuzzParseImage: no reference crashes the parser, and what it accepts is normalized so that
// globs can only match on whole segments.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"nginx", "registry.example.com:5000/team/app:1.2@sha256:" + strings.Repeat("a", 64), "UPPER", "a//b", "@", ":", "localhost/x", "x@sha256:"} {
		f.Add(s)
	}
	any, _ := compileGlob("registry.example.com/**")
	f.Fuzz(func(t *testing.T, raw string) {
		img, err := ParseImage(raw)
		if err != nil {
			return
		}
		if img.Repo != img.Registry+"/"+img.Repository {
			t.Fatalf("Repo %q is not Registry/Repository (%q, %q)", img.Repo, img.Registry, img.Repository)
		}
		if any.match(img.Repo) && img.Registry != "registry.example.com" {
			t.Fatalf("registry.example.com/** matched %q (registry %q)", raw, img.Registry)
		}
	})
}

// FuzzCompileGlob: no glob crashes the compiler, and a compiled glob never matches across a
// registry boundary it names literally.
func FuzzCompileGlob(f *testing.F) {
	for _, s := range []string{"**", "*", "a.io/*", "a.io/**/b", "nginx", "docker.io/*", "***", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		g, err := compileGlob(raw)
		if err != nil {
			return
		}
		if g.host != "" && g.match("evil.example/"+g.host+"/x") && !strings.HasPrefix(g.pattern, "evil.example") {
			t.Fatalf("glob %q (%s) matches another registry", raw, g.pattern)
		}
	})
}

// FuzzCompile: no ClusterImagePolicy or ImagePolicy, however malformed (its YAML, globs, keys,
// identities, Rego), crashes the compiler, and one that does not compile denies what it covers
// (it fails closed): its globs, broken, fall back to covering everything.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"spec:\n  images: [{glob: \"registry.example.com/**\"}]\n  authorities: [{name: a, static: {action: pass}}]\n",
		"spec:\n  images: [{glob: \"(\"}]\n  authorities: [{name: a, static: {action: pass}}]\n",
		"spec:\n  images: [{glob: \"**\"}]\n  mode: audit\n  authorities: [{name: a, keyless: {identities: [{issuer: x, subjectRegExp: \"(\"}]}}]\n",
		"spec:\n  images: [{glob: \"a.io/*\"}]\n  authorities: [{name: a, key: {data: \"-----BEGIN PUBLIC KEY-----\\nnope\\n-----END PUBLIC KEY-----\\n\"}}]\n  rego: \"package portcullis\\ndeny contains 1 if true\"\n",
		"spec:\n  images: [{glob: \"a.io/*\"}]\n  threshold: 7\n  authorities: [{name: a, static: {action: fail}, attestations: [{name: p, predicateType: \"::\"}]}]\n",
	} {
		f.Add([]byte(s), false)
	}
	covered, _ := ParseImage("elsewhere.example/any/image:1")
	f.Fuzz(func(t *testing.T, doc []byte, namespaced bool) {
		var cip v1alpha1.ClusterImagePolicy
		if err := yaml.Unmarshal(doc, &cip); err != nil {
			return
		}
		cip.Name = "fuzzed"
		src := Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip}}
		if namespaced {
			src = Sources{Policies: []v1alpha1.ImagePolicy{{ObjectMeta: cip.ObjectMeta, Spec: cip.Spec}}}
			src.Policies[0].Namespace = "team"
		}
		set := Compile(src)
		if len(set.Policies()) != 1 {
			t.Fatalf("%d policies compiled from one", len(set.Policies()))
		}
		p := set.Policies()[0]
		_ = Lint(p.Kind, &cip.Spec)
		broken := len(cip.Spec.Images) == 0
		for _, im := range cip.Spec.Images {
			if _, err := compileGlob(im.Glob); err != nil {
				broken = true
			}
		}
		if broken && (p.Err == nil || !p.covers(covered.Repo)) {
			t.Fatalf("a policy whose globs do not compile (%v) does not fail closed over every image", p.Err)
		}
	})
}
