package verify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// TestWorkflowClaimsOfARealCertificate reads the GitHub Actions claims out of a certificate Fulcio
// issued to a real workflow run (sigstore-conformance's beacon, staging Fulcio; PROVENANCE.md),
// and matches the short form against it exactly.
func TestWorkflowClaimsOfARealCertificate(t *testing.T) {
	const repo = "sigstore-conformance/extremely-dangerous-public-oidc-beacon"
	const workflow = ".github/workflows/extremely-dangerous-oidc-beacon.yml"
	var b sgbundle.Bundle
	raw, err := os.ReadFile(filepath.Join(tooltest.Root(t), "test/testdata/sigstore/sigstore-conformance/bundle-verify/rekor2-happy-path/bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	cert := vc.Certificate()
	got, ok := workflowClaims(cert)
	want := GitHubActions{Repository: repo, Workflow: workflow, Ref: "refs/heads/main", SignerWorkflow: repo + "/" + workflow}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Fatalf("workflow claims (found %v) differ (-want +got):\n%s", ok, diff)
	}
	for _, tt := range []struct {
		g    GitHubActions
		want bool
	}{
		{want, true},
		{GitHubActions{Repository: repo}, true},
		{GitHubActions{Repository: repo + "-fork"}, false},
		{GitHubActions{Repository: "sigstore-conformance/extremely-dangerous-public-oidc"}, false},
		{GitHubActions{Repository: repo, Workflow: ".github/workflows/extremely-dangerous-oidc-beacon.y"}, false},
		{GitHubActions{Repository: repo, Workflow: "extremely-dangerous-oidc-beacon.yml"}, false},
		{GitHubActions{Repository: repo, Ref: "refs/heads/mai"}, false},
		{GitHubActions{Repository: repo, SignerWorkflow: "sigstore-conformance/other/" + workflow}, false},
	} {
		if got := tt.g.matches(cert); got != tt.want {
			t.Errorf("%s matches the beacon's certificate = %v, want %v", tt.g, got, tt.want)
		}
	}
}
