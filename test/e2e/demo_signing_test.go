package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// TestCosignVerifiesDemoSignatures: `make demo` signs through the cosign library (sigtest), not
// the cosign CLI, and shows the `cosign sign` command that does the same. The real `cosign
// verify` must accept such a signature for its key, and refuse it for another, as it does the
// CLI's own (TestAgreesWithCosign).
func TestCosignVerifiesDemoSignatures(t *testing.T) {
	dir := t.TempDir()
	reg := sigtest.NewRegistry(t, true)
	release, other := sigtest.NewKey(t), sigtest.NewKey(t)
	for file, k := range map[string]*sigtest.Key{"release.pub": release, "other.pub": other} {
		if err := os.WriteFile(filepath.Join(dir, file), k.PEM, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := pushRandom(t, reg.Host, "team/api")
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := release.WriteBundleSignature(d); err != nil {
		t.Fatal(err)
	}
	for pub, want := range map[string]bool{"release.pub": true, "other.pub": false} {
		out, err := cosign(t, dir, "verify", "--key", pub, "--insecure-ignore-tlog=true", ref)
		if (err == nil) != want {
			t.Errorf("cosign verify --key %s: err %v, want verified=%v\n%s", pub, err, want, out)
		}
	}
}
