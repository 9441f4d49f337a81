package preflight_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/preflight"
)

// TestKeylessWithTrustRoot verifies real public-good keyless material with --trust-root (the
// root shipped beside it) and without (the embedded root), and reports the verified identity.
func TestKeylessWithTrustRoot(t *testing.T) {
	f := newFixture(t)
	img := f.keylessImage(t)
	policy := func(subject string) string { return f.keylessPolicy(t, subject) }
	pgi := filepath.Join(sigtest.CosignTestdata(t), "trusted_root_pgi.json")
	for _, root := range []string{"", pgi} {
		r := run(t, "", preflight.Options{Policies: []string{policy("mitr@redhat.com")}, Images: []string{img}, TrustRoot: root, Output: "json"})
		rep := report(t, r)
		if r.code != 0 || len(rep.Images[0].Policies[0].Signers) != 1 {
			t.Fatalf("--trust-root %q: exit %d\n%s%s", root, r.code, r.stdout, r.stderr)
		}
		if s := rep.Images[0].Policies[0].Signers[0]; s.Subject != "mitr@redhat.com" || s.Issuer != "https://github.com/login/oauth" || s.Authority != "redhat" {
			t.Fatalf("signer %+v", s)
		}
		r = run(t, "", preflight.Options{Policies: []string{policy("someone@redhat.com")}, Images: []string{img}, TrustRoot: root})
		if r.code != 1 || !strings.Contains(r.stdout, `certificate subject mitr@redhat.com, issuer https://github.com/login/oauth; wanted subject "someone@redhat.com"`) {
			t.Fatalf("wrong identity: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	r := run(t, "", preflight.Options{Policies: []string{policy("mitr@redhat.com")}, Images: []string{img}, TrustRoot: f.policy})
	if r.code != 2 || !strings.Contains(r.stderr, "--trust-root") {
		t.Fatalf("a --trust-root that is not a trusted root: exit %d, %s", r.code, r.stderr)
	}
}
