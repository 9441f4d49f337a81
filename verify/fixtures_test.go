package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

func fixtureKey(t *testing.T, file string) *verify.PublicKey {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(sigtest.Fixtures(t), file))
	if err != nil {
		t.Fatal(err)
	}
	k, err := verify.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRecordedSignatures verifies real signatures made by others with cosign, with the results
// PROVENANCE.md records for them.
func TestRecordedSignatures(t *testing.T) {
	reg := sigtest.NewRegistry(t, false)
	c := newClient(t)
	tests := []struct {
		dir, key string
		tlog     bool
		want     string // "" is verified; otherwise a substring of the failure
	}{
		{"dir-img-cosign-valid", "cosign.pub", false, ""},
		{"dir-img-cosign-valid", "cosign.pub", true, "no transparency log entry"},
		{"dir-img-cosign-valid", "cosign2.pub", false, "signed by another key"},
		{"dir-img-cosign-valid-2", "cosign.pub", false, ""},
		{"dir-img-cosign-valid-2", "cosign.pub", true, "no transparency log entry"},
		{"dir-img-cosign-valid-with-tag", "cosign.pub", false, ""},
		{"dir-img-cosign-valid-with-tag", "cosign.pub", true, "no transparency log entry"},
		{"dir-img-cosign-no-manifest", "cosign.pub", false, "names another image digest"},
		{"dir-img-cosign-mixed", "cosign.pub", false, ""},
		{"dir-img-cosign-modified-manifest", "cosign.pub", false, "names another image digest"},
		{"dir-img-cosign-manifest-digest-error", "cosign.pub", false, "none matched"},
		{"dir-img-cosign-other-attachment", "cosign.pub", false, "none matched"},
		{"dir-img-cosign-key-rekor-valid", "cosign2.pub", false, ""},
		{"dir-img-cosign-key-rekor-valid", "cosign2.pub", true, ""},
		{"dir-img-cosign-key-rekor-valid", "cosign.pub", false, "signed by another key"},
	}
	for _, tt := range tests {
		name := tt.dir + "/" + tt.key + map[bool]string{true: "/tlog-required", false: "/tlog-ignored"}[tt.tlog]
		t.Run(name, func(t *testing.T) {
			d := sigtest.PushFixture(t, reg, tt.dir)
			a := &verify.Authority{Name: "fixture", Key: fixtureKey(t, tt.key), RequireTlog: tt.tlog}
			res, err := session(t, c).Verify(d, a)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify(%s) = %v, want verified", d, err)
				}
				if len(res.Signatures) == 0 {
					t.Fatal("no signature reported")
				}
				return
			}
			if !verify.IsFailure(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify(%s) = %v; want a failure containing %q", d, err, tt.want)
			}
		})
	}
}
