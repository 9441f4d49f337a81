package policy

import (
	"strings"
	"testing"
)

func TestGlobMatching(t *testing.T) {
	tests := []struct {
		glob, image string
		want        bool
	}{
		{"registry.example.com/**", "registry.example.com/team/app:1.2", true},
		{"registry.example.com/**", "registry.example.com/app@sha256:" + hex64, true},
		{"registry.example.com/**", "registry.example.com.evil.io/x", false},
		{"registry.example.com/**", "evil.io/registry.example.com/x", false},
		{"registry.example.com/**", "registry.example.company/x", false},
		{"registry.example.com/*", "registry.example.com/team/app", false},
		{"registry.example.com/*", "registry.example.com/app", true},
		{"registry.example.com/team/*", "registry.example.com/team/app", true},
		{"registry.example.com/team/*", "registry.example.com/team/sub/app", false},
		{"registry.example.com/team/**", "registry.example.com/team/sub/app", true},
		{"registry.example.com/team/**", "registry.example.com/teams/app", false},
		{"*.example.com/**", "registry.example.com/app", true},
		{"*.example.com/**", "registry.example.com.evil.io/app", false},
		{"*.example.com/**", "evil.io/x.example.com/app", false},
		{"registry.example.com:5000/**", "registry.example.com:5000/app:1", true},
		{"registry.example.com:5000/**", "registry.example.com/app:1", false},
		{"registry.example.com/**", "registry.example.com:5000/app:1", false},
		{"localhost:5000/*", "localhost:5000/app", true},
		// Docker Hub short names are normalized on both sides.
		{"nginx", "nginx", true},
		{"nginx", "docker.io/library/nginx:1.25", true},
		{"nginx", "index.docker.io/library/nginx@sha256:" + hex64, true},
		{"nginx", "nginx-evil", false},
		{"nginx", "evil/nginx", false},
		{"docker.io/library/*", "busybox", true},
		{"docker.io/*", "busybox", true},
		{"docker.io/*", "someone/busybox", false},
		{"docker.io/someone/*", "someone/busybox:latest", true},
		{"index.docker.io/**", "someone/busybox", true},
		{"library/nginx", "nginx:latest", true},
		{"**", "anything.example/at/all", true},
		// Globs are not regular expressions.
		{"registry.example.com/.*", "registry.example.com/app", false},
		{"REGISTRY.example.com/**", "registry.example.com/app", true},
		// Every spelling of a registry, in an image or a glob, is judged by the same policies.
		{"ghcr.io/acme/**", "GHCR.IO/acme/app:1", true},
		{"ghcr.io/acme/**", "Ghcr.Io/acme/app@sha256:" + hex64, true},
		{"ghcr.io/acme/**", "ghcr.io:443/acme/app", true},
		{"ghcr.io/acme/**", "ghcr.io:0443/acme/app", true},
		{"ghcr.io/acme/**", "ghcr.io:80/acme/app", true},
		{"ghcr.io/acme/**", "ghcr.io./acme/app", true},
		{"ghcr.io/acme/**", "GHCR.IO.:443/acme/app", true},
		{"ghcr.io/acme/**", "ghcr.io:8443/acme/app", false},
		{"GHCR.io.:443/acme/**", "ghcr.io/acme/app", true},
		{"ghcr.io:80/acme/**", "ghcr.io/acme/app", true},
		{"*.example.com/**", "REGISTRY.EXAMPLE.COM./app", true},
		{"127.0.0.1:5000/**", "127.0.0.1:05000/app", true},
		{"nginx", "index.docker.io/nginx", true},
		{"nginx", "registry-1.docker.io/library/nginx", true},
		{"nginx", "registry.hub.docker.com/nginx:1", true},
		{"nginx", "Docker.IO/nginx", true},
		{"nginx", "docker.io:443/library/nginx", true},
		{"docker.io/library/**", "REGISTRY-1.DOCKER.IO./nginx", true},
		{"registry-1.docker.io/acme/*", "docker.io/acme/app", true},
		{"registry.hub.docker.com/library/nginx", "nginx", true},
		{"index.docker.io/acme/**", "registry.hub.docker.com/acme/app", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.glob)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.glob, err)
		}
		img, err := ParseImage(tt.image)
		if err != nil {
			t.Fatalf("ParseImage(%q): %v", tt.image, err)
		}
		if got := g.match(img.Repo); got != tt.want {
			t.Errorf("glob %q (%s) on %q (%s) = %v, want %v", tt.glob, g.pattern, tt.image, img.Repo, got, tt.want)
		}
	}
}

func TestBadGlobs(t *testing.T) {
	for _, g := range []string{"", "ghcr.io:99999/**", "ghcr.io:x/**", "ghcr..io/**", ".ghcr.io/**", "registry.example.com/(a|b)", "registry.example.com/***", "registry.example.com//x", "/x", "x/", "a b", "reg.io/[a-z]", "reg.io/a+b", "reg.io/a$", "registry.example.com/te?m/app"} {
		if _, err := compileGlob(g); err == nil {
			t.Errorf("compileGlob(%q) succeeded, want an error", g)
		}
	}
}

func TestParseImage(t *testing.T) {
	tests := []struct {
		raw                                  string
		repo, registry, repository, tag, dig string
	}{
		{"nginx", "index.docker.io/library/nginx", "index.docker.io", "library/nginx", "latest", ""},
		{"registry.example.com:5000/team/app:1.2", "registry.example.com:5000/team/app", "registry.example.com:5000", "team/app", "1.2", ""},
		{"registry.example.com/app:1.2@sha256:" + hex64, "registry.example.com/app", "registry.example.com", "app", "1.2", "sha256:" + hex64},
		{"registry.example.com/app@sha256:" + hex64, "registry.example.com/app", "registry.example.com", "app", "", "sha256:" + hex64},
		{"localhost:5000/app@sha256:" + hex64, "localhost:5000/app", "localhost:5000", "app", "", "sha256:" + hex64},
		{"GHCR.IO.:443/acme/app:v1", "ghcr.io/acme/app", "ghcr.io", "acme/app", "v1", ""},
		{"registry-1.docker.io/nginx:1", "index.docker.io/library/nginx", "index.docker.io", "library/nginx", "1", ""},
		{"[::ffff:127.0.0.1]:5000/app", "127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", ""},
		{"[0:0::1]:443/app", "[::1]/app", "[::1]", "app", "latest", ""},
	}
	for _, tt := range tests {
		img, err := ParseImage(tt.raw)
		if err != nil {
			t.Fatalf("ParseImage(%q): %v", tt.raw, err)
		}
		if img.Repo != tt.repo || img.Registry != tt.registry || img.Repository != tt.repository || img.Tag != tt.tag || img.Digest != tt.dig {
			t.Errorf("ParseImage(%q) = %+v", tt.raw, img)
		}
	}
}

func TestAbsurdReferences(t *testing.T) {
	long := "registry.example.com/" + string(make([]byte, 2000))
	for _, raw := range []string{"", "UPPER/case", "régistry.example.com/app", "xn--rgistry-bya.example.com/app/../../evil", "ghcr.io/acme/../evil/app",
		"ghcr.io/acme/./app", "ghcr.io/acme/-app", "ghcr.io/acme/app-", "ghcr.io/acme/a..b", "ghcr.io:99999/app", "ghcr.io../app", "[zz::1]/app", "nginx:bad tag", "nginx@sha256:short", "registry.example.com/app@md5:abc", "::::", "a/b/c:d:e", long, "nginx\n", "http://registry.example.com/app"} {
		if _, err := ParseImage(raw); err == nil {
			t.Errorf("ParseImage(%q) succeeded, want an error", raw)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestCanonicalForms: the canonical spelling kept for messages, Rego and reports.
func TestCanonicalForms(t *testing.T) {
	for _, tt := range []struct{ raw, canonical string }{
		{"nginx", "index.docker.io/library/nginx:latest"},
		{"GHCR.IO:443/acme/app:v1@sha256:" + hex64, "ghcr.io/acme/app:v1@sha256:" + hex64},
		{"registry.hub.docker.com/acme/app@sha256:" + hex64, "index.docker.io/acme/app@sha256:" + hex64},
	} {
		img, err := ParseImage(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if img.Canonical != tt.canonical || img.Ref.String() != strings.Replace(tt.canonical, ":v1@", "@", 1) {
			t.Errorf("ParseImage(%q): canonical %q, ref %q; want %q", tt.raw, img.Canonical, img.Ref, tt.canonical)
		}
	}
}
