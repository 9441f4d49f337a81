package verify

import (
	"os"
	"testing"
)

// TestSCTRuleReadFromRoot: whether an SCT is required is read from the trust root: GitHub's
// (no CT log) does not require one; the public-good roots, which name CT logs, do.
func TestSCTRuleReadFromRoot(t *testing.T) {
	for _, tt := range []struct {
		file string
		want bool
	}{
		{"../test/testdata/sigstore/github/trusted_root.json", false},
		{"../test/testdata/sigstore/root-signing/trusted_root.json", true},
		{"../test/testdata/sigstore/cosign/pkg/cosign/testdata/trusted_root_pgi.json", true},
	} {
		doc, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := ParseTrustedRoot(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiresSCT(tr); got != tt.want {
			t.Errorf("%s: requiresSCT = %v, want %v", tt.file, got, tt.want)
		}
	}
}
