package policy

import (
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// TestKeyAuthorityKeyedByRoot: a key authority that requires the transparency log verifies
// log entries with the public-good root's Rekor keys, so its verdicts are keyed by that root's
// digest (a new root re-judges them); one that ignores the log is not.
func TestKeyAuthorityKeyedByRoot(t *testing.T) {
	k := sigtest.NewKey(t)
	for _, tt := range []struct {
		tlog  v1alpha1.TlogPolicy
		keyed bool
	}{{v1alpha1.TlogRequire, true}, {v1alpha1.TlogIgnore, false}, {"", false}} {
		spec := v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: "**"}},
			Authorities: []v1alpha1.Authority{{Name: "k", Key: &v1alpha1.KeyAuthority{Data: string(k.PEM)}, Tlog: tt.tlog}}}
		set := Compile(Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{{Spec: spec}}})
		p := set.Policies()[0]
		if p.Err != nil {
			t.Fatal(p.Err)
		}
		if got := strings.Contains(p.key, "public-good@sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"); got != tt.keyed {
			t.Errorf("tlog %q: key %q names the public-good root: %v, want %v", tt.tlog, p.key, got, tt.keyed)
		}
	}
}
