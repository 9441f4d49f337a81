package policy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
)

// TestLint: each footgun gets its warning, naming the field and what to write, and what is
// written well gets none.
func TestLint(t *testing.T) {
	key := sigtest.NewKey(t)
	globs := func(gs ...string) v1alpha1.ImagePolicySpec {
		s := spec(gs[0], keyAuth("a", key))
		for _, g := range gs[1:] {
			s.Images = append(s.Images, v1alpha1.ImagePattern{Glob: g})
		}
		return s
	}
	identity := func(id v1alpha1.Identity) v1alpha1.ImagePolicySpec {
		return spec("ghcr.io/my-org/**", v1alpha1.Authority{Name: "ci", Keyless: &v1alpha1.KeylessAuthority{Identities: []v1alpha1.Identity{id}}})
	}
	const gha = "https://token.actions.githubusercontent.com"
	const (
		subjectAlso = "so it also matches any subject that merely contains a match (evil-org/my-repo/... for my-repo/..., x@example.com.attacker.io for x@example.com)"
		issuerAlso  = "so it also matches any issuer that merely contains a match (https://accounts.example.com.attacker.io for https://accounts.example.com)"
		noSlash     = `matches no image: images are matched as registry/repository (index.docker.io/library/nginx) and * never crosses a /; write "**" for every image, or name the registry ("registry.example.com/**")`
		noOp        = "spec.authorities: this ImagePolicy can never fail, because static pass authorities alone meet its threshold (1) and it has no rego; " +
			"an ImagePolicy only adds requirements to the ClusterImagePolicies and does not decide which images are covered (noMatch), so it does nothing; " +
			"add a key or keyless authority, raise the threshold, or add rego, or delete it"
	)
	tests := []struct {
		name string
		kind string
		spec v1alpha1.ImagePolicySpec
		want []string
	}{
		{"well written", policy.KindCluster, globs("registry.example.com/team/**", "*.example.com/**", "*-registry.example.com/app", "**", "*/acme/**", "**/app", "nginx", "localhost:5000/*"), nil},

		// Identity regular expressions.
		{"anchored regexps", policy.KindCluster, identity(v1alpha1.Identity{IssuerRegExp: `^https://token\.actions\.githubusercontent\.com$`, SubjectRegExp: `^https://github\.com/my-org/my-repo/\.github/workflows/release\.yml@refs/(heads|tags)/.+$`}), nil},
		{"anchored with \\A and \\z, and in every branch", policy.KindCluster, identity(v1alpha1.Identity{IssuerRegExp: `\Ahttps://a\.example\.com\z`, SubjectRegExp: `^a@example\.com$|^b@example\.com$`}), nil},
		{"subject without $", policy.KindCluster, identity(v1alpha1.Identity{Issuer: gha, SubjectRegExp: `^https://github\.com/my-org/my-repo`}),
			[]string{"spec.authorities[0].keyless.identities[0].subjectRegExp `^https://github\\.com/my-org/my-repo` is not anchored with ^ and $, " + subjectAlso + "; write `^https://github\\.com/my-org/my-repo$`"}},
		{"subject without ^", policy.KindCluster, identity(v1alpha1.Identity{Issuer: gha, SubjectRegExp: `my-org/my-repo/.*$`}),
			[]string{"spec.authorities[0].keyless.identities[0].subjectRegExp `my-org/my-repo/.*$` is not anchored with ^ and $, " + subjectAlso + "; write `^my-org/my-repo/.*$`"}},
		{"issuer and subject unanchored", policy.KindCluster, identity(v1alpha1.Identity{IssuerRegExp: `https://accounts\.example\.com`, SubjectRegExp: `x@example\.com`}), []string{
			"spec.authorities[0].keyless.identities[0].subjectRegExp `x@example\\.com` is not anchored with ^ and $, " + subjectAlso + "; write `^x@example\\.com$`",
			"spec.authorities[0].keyless.identities[0].issuerRegExp `https://accounts\\.example\\.com` is not anchored with ^ and $, " + issuerAlso + "; write `^https://accounts\\.example\\.com$`",
		}},
		{"a top-level | anchors one branch only", policy.KindCluster, identity(v1alpha1.Identity{Issuer: gha, SubjectRegExp: `^a@example\.com|b@example\.com$`}),
			[]string{"spec.authorities[0].keyless.identities[0].subjectRegExp `^a@example\\.com|b@example\\.com$` is not anchored with ^ and $, " + subjectAlso + "; write `^(?:^a@example\\.com|b@example\\.com$)$`"}},
		{"an escaped $ is no anchor", policy.KindCluster, identity(v1alpha1.Identity{Issuer: gha, SubjectRegExp: `^a\$`}),
			[]string{"spec.authorities[0].keyless.identities[0].subjectRegExp `^a\\$` is not anchored with ^ and $, " + subjectAlso + "; write `^a\\$$`"}},
		{"github with a ref", policy.KindCluster, identity(v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "my-org/my-repo", Ref: "refs/heads/main"}}), nil},
		{"github with a workflow", policy.KindCluster, identity(v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "my-org/my-repo", Workflow: ".github/workflows/release.yml"}}), nil},
		{"github repository alone", policy.KindCluster, identity(v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "my-org/my-repo"}}),
			[]string{"spec.authorities[0].keyless.identities[0].github names repository my-org/my-repo alone: any workflow in it, run from any branch or tag, " +
				"can sign; add ref (refs/heads/main) and workflow (.github/workflows/release.yml)"}},
		{"a regexp that does not compile is a compile error, not a warning", policy.KindCluster, identity(v1alpha1.Identity{Issuer: gha, SubjectRegExp: `(`}), nil},

		// Globs that match nothing.
		{"bare *", policy.KindCluster, globs("*"), []string{`spec.images[0].glob "*" ` + noSlash}},
		{"* glued to a host with no path", policy.KindCluster, globs("registry.example.com/**", "ghcr.io*"), []string{`spec.images[1].glob "ghcr.io*" ` + noSlash}},
		{"a tag", policy.KindCluster, globs("ghcr.io/acme/app:v1"), []string{`spec.images[0].glob "ghcr.io/acme/app:v1" matches no image: a glob matches the repository without tag or digest; write "ghcr.io/acme/app"`}},
		{"a Docker Hub tag", policy.KindCluster, globs("nginx:latest"), []string{`spec.images[0].glob "nginx:latest" matches no image: a glob matches the repository without tag or digest; write "nginx"`}},
		{"a port is no tag", policy.KindCluster, globs("localhost:5000/app"), nil},
		{"a glob that does not compile is a compile error, not a warning", policy.KindCluster, globs("ghcr.io/***"), nil},

		// ** glued to a literal.
		{"** after a literal", policy.KindCluster, globs("ghcr.io/acme**"),
			[]string{`spec.images[0].glob "ghcr.io/acme**" has ** joined to other characters, so it crosses into repositories it does not name (such as ghcr.io/acme-evil/x); write "ghcr.io/acme/**"`}},
		{"** before a literal in the host", policy.KindCluster, globs("**.example.com/**"),
			[]string{`spec.images[0].glob "**.example.com/**" has ** joined to other characters, so it crosses into repositories it does not name (such as evil.io/x.example.com/x/x); write "*.example.com/**"`}},
		{"** before a literal in the path", policy.KindCluster, globs("ghcr.io/acme/**-prod"),
			[]string{`spec.images[0].glob "ghcr.io/acme/**-prod" has ** joined to other characters, so it crosses into repositories it does not name (such as ghcr.io/acme/evil/x-prod); write "ghcr.io/acme/**/*-prod"`}},

		// * glued in the registry host.
		{"* after the host", policy.KindCluster, globs("ghcr.io*/**"),
			[]string{`spec.images[0].glob "ghcr.io*/**" has a * in the registry host that hosts anyone can run also match (such as ghcr.io.evil.io); write "ghcr.io/**", or use * only before a domain you control (*.example.com)`}},
		{"* before the host", policy.KindCluster, globs("*ghcr.io/**"),
			[]string{`spec.images[0].glob "*ghcr.io/**" has a * in the registry host that hosts anyone can run also match (such as evilghcr.io); write "ghcr.io/**", or use * only before a domain you control (*.example.com)`}},
		{"* before a top-level domain", policy.KindCluster, globs("*.io/acme/**"),
			[]string{`spec.images[0].glob "*.io/acme/**" has a * in the registry host that hosts anyone can run also match (such as evil.io); name the registry in full, or use * only before a domain you control (*.example.com)`}},
		{"* for the top-level domain, with a port", policy.KindCluster, globs("registry.example.*:5000/app"),
			[]string{`spec.images[0].glob "registry.example.*:5000/app" has a * in the registry host that hosts anyone can run also match (such as registry.example.evil.io:5000); name the registry in full, or use * only before a domain you control (*.example.com)`}},

		// mutateDigest.
		{"enforce without pinning", policy.KindCluster, func() v1alpha1.ImagePolicySpec {
			s := globs("ghcr.io/acme/**")
			s.MutateDigest = ptr(false)
			return s
		}(), []string{"spec.mutateDigest is false in an enforce-mode policy: the image is verified by tag, and the tag can be re-pushed and then pulled " +
			"(a restart, a new node) without admission; remove mutateDigest: false so tags are pinned to tag@digest, or write images as tag@digest (portcullis verify --pin)"}},
		{"audit without pinning", policy.KindCluster, func() v1alpha1.ImagePolicySpec {
			s := withMode(globs("ghcr.io/acme/**"), v1alpha1.ModeAudit)
			s.MutateDigest = ptr(false)
			return s
		}(), nil},

		// ImagePolicies that can never fail.
		{"ImagePolicy with one static pass", policy.KindNamespaced, spec("ghcr.io/acme/**", static("ok", v1alpha1.StaticPass)), []string{noOp}},
		{"ImagePolicy that static pass meets alone", policy.KindNamespaced, spec("ghcr.io/acme/**", keyAuth("a", key), static("ok", v1alpha1.StaticPass)), []string{noOp}},
		{"ImagePolicy that needs a key besides static pass", policy.KindNamespaced, func() v1alpha1.ImagePolicySpec {
			s := spec("ghcr.io/acme/**", keyAuth("a", key), static("ok", v1alpha1.StaticPass))
			s.Threshold = ptr[int32](2)
			return s
		}(), nil},
		{"ImagePolicy with static pass and rego", policy.KindNamespaced, func() v1alpha1.ImagePolicySpec {
			s := spec("ghcr.io/acme/**", static("ok", v1alpha1.StaticPass))
			s.Rego = "package portcullis\ndeny contains \"no\" if { input.image.tag == \"latest\" }"
			return s
		}(), nil},
		{"ImagePolicy with static fail", policy.KindNamespaced, spec("ghcr.io/acme/**", static("no", v1alpha1.StaticFail)), nil},
		{"ClusterImagePolicy with static pass decides coverage", policy.KindCluster, spec("ghcr.io/acme/**", static("ok", v1alpha1.StaticPass)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, policy.Lint(tt.kind, &tt.spec)); diff != "" {
				t.Errorf("Lint (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCompileWarnings: Compile stores the warnings on the policy and they change nothing it
// enforces; ApplyWarnings puts a compile error first, on one line, with what it will do.
func TestCompileWarnings(t *testing.T) {
	key := sigtest.NewKey(t)
	warned := spec("ghcr.io/acme**", keyAuth("a", key))
	warned.MutateDigest = ptr(false)
	broken := withMode(spec("ghcr.io/acme/**", v1alpha1.Authority{Name: "ci", Keyless: &v1alpha1.KeylessAuthority{
		TrustRootRef: "later", Identities: []v1alpha1.Identity{{Issuer: "https://issuer.example.com", SubjectRegExp: "ci@example\\.com"}}}}), v1alpha1.ModeWarn)
	broken.Rego = "package portcullis\n\ndeny contains msg if {"
	set := policy.Compile(policy.Sources{
		ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("a-warned", warned), cip("b-broken", broken)},
		Policies:        []v1alpha1.ImagePolicy{nsPolicy("team", "c-noop", spec("ghcr.io/acme/**", static("ok", v1alpha1.StaticPass)))},
	})
	ps := set.Policies()
	if len(ps) != 3 {
		t.Fatalf("compiled %d policies, want 3", len(ps))
	}
	warnedP, brokenP, noopP := ps[0], ps[1], ps[2]
	if warnedP.Err != nil || warnedP.MutateDigest || noopP.Err != nil {
		t.Errorf("warnings changed the policies: %v, mutateDigest %v, %v", warnedP.Err, warnedP.MutateDigest, noopP.Err)
	}
	if diff := cmp.Diff(policy.Lint(policy.KindCluster, &warned), warnedP.Warnings); diff != "" || len(warnedP.Warnings) != 2 {
		t.Errorf("Warnings of %s (-want +got):\n%s", warnedP.Name, diff)
	}
	if diff := cmp.Diff(warnedP.Warnings, warnedP.ApplyWarnings()); diff != "" {
		t.Errorf("ApplyWarnings of a policy that compiles (-want +got):\n%s", diff)
	}
	if len(noopP.Warnings) != 1 {
		t.Errorf("Warnings of the ImagePolicy: %q", noopP.Warnings)
	}

	if brokenP.Err == nil {
		t.Fatalf("%s compiled", brokenP.Name)
	}
	got := brokenP.ApplyWarnings()
	if len(got) != 2 || got[1] != brokenP.Warnings[0] {
		t.Fatalf("ApplyWarnings of %s = %q, want the compile error and one warning", brokenP.Name, got)
	}
	for _, want := range []string{"this policy does not compile: ", `trustRootRef "later": no such TrustRoot`, "policy rego:", "; it will warn about every image it covers"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("compile warning %q does not say %q", got[0], want)
		}
	}
	if strings.Contains(got[0], "\n") {
		t.Errorf("compile warning %q spans lines", got[0])
	}
}
