package preflight_test

import (
	"os"
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

// TestRekorV2WithEmbeddedRoot: `portcullis verify --image` with no --trust-root verifies,
// offline, a production Rekor v2 + TSA bundle (log2025-1, timestamp.sigstore.dev) against
// the embedded public-good root: the DSSE provenance of test/testdata/sigstore/public-good-2026,
// served with its artifact as the image. The 2023 root, which has neither that log nor the
// TSA, refuses it.
func TestRekorV2WithEmbeddedRoot(t *testing.T) {
	f := newFixture(t)
	dir := "../test/testdata/sigstore/public-good-2026"
	read := func(name string) []byte { return []byte(readString(t, filepath.Join(dir, name))) }
	d := sigtest.PushArtifact(t, f.reg, "fixtures/rekor-v2:1", read("rekor-v2-dsse-provenance.artifact"), read("rekor-v2-dsse-provenance.sigstore.json"))
	policy := "../test/testdata/policies/rekor-v2-provenance.yaml"
	r := run(t, "", preflight.Options{Policies: []string{policy}, Images: []string{d.String()}, Output: "json"})
	if rep := report(t, r); r.code != 0 || !rep.Allowed || rep.Images[0].Digest != d.DigestStr() {
		t.Fatalf("embedded root: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	other := f.write(t, "rekor-v2-other.yaml", strings.Replace(readString(t, policy), "untrusted-sa@", "someone-else@", 1))
	r = run(t, "", preflight.Options{Policies: []string{other}, Images: []string{d.String()}})
	if r.code != 1 || !strings.Contains(r.stdout, `certificate subject untrusted-sa@sigstore-conformance.iam.gserviceaccount.com, issuer https://accounts.google.com; wanted subject "someone-else@`) {
		t.Fatalf("another identity: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pgi := filepath.Join(sigtest.CosignTestdata(t), "trusted_root_pgi.json")
	r = run(t, "", preflight.Options{Policies: []string{policy}, Images: []string{d.String()}, TrustRoot: pgi})
	if r.code != 1 || !strings.Contains(r.stdout, "no transparency log entry verified by a log the trust root names") {
		t.Fatalf("2023 root: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func readString(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
