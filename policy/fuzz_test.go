package policy

import (
	"strings"
	"testing"
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
