package policy_test

import (
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
)

// TestRekorV2AndPrivateSigstore: through the Engine that the webhook and the CLI share, with
// trust roots given as TrustRoot resources: a Rekor v2 + TSA signature and attestation are
// admitted under the default tlog: require, and one without a timestamp is denied saying
// why; a signature from a Sigstore without logs (GitHub's for private repositories: no
// transparency log, no CT log, no SCT) is admitted with tlog: ignore.
func TestRekorV2AndPrivateSigstore(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	ours, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	private, err := sigtest.NewSigstoreWithoutLogs()
	if err != nil {
		t.Fatal(err)
	}
	const workflow = "https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main"
	ci := v1alpha1.Identity{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: "^https://github.com/org/repo/"}
	as := func(v2, timestamp bool) sigtest.Identity {
		return sigtest.Identity{Subject: workflow, Issuer: ci.Issuer, RekorV2: v2, NoTlog: !v2, Timestamp: timestamp}
	}
	sign := func(ss *sigtest.Sigstore, repo string, id sigtest.Identity, attest bool) string {
		d := reg.PushRandom(t, repo+":1")
		var err error
		if attest {
			err = ss.AttestBundle(d, "https://slsa.dev/provenance/v1", sigtest.Statement(t, d, "https://slsa.dev/provenance/v1", map[string]any{"builder": "ci"}), id)
		} else {
			err = ss.SignBundle(d, id)
		}
		if err != nil {
			t.Fatal(err)
		}
		return reg.Host + "/" + repo + ":1"
	}
	v2Signed := sign(ours, "v2/signed", as(true, true), false)
	v2Attested := sign(ours, "v2-att/attested", as(true, true), true)
	v2Unstamped := sign(ours, "v2/unstamped", as(true, false), false)
	githubPrivate := sign(private, "private/app", as(false, true), false)

	provenance := keyless("ci", "ours", "", ci)
	provenance.Attestations = []v1alpha1.Attestation{{Name: "provenance", PredicateType: "slsaprovenance1"}}
	e := engine(t, policy.Sources{
		ClusterPolicies: []v1alpha1.ClusterImagePolicy{
			cip("v2", spec(reg.Host+"/v2/**", keyless("ci", "ours", "", ci))),
			cip("v2-att", spec(reg.Host+"/v2-att/**", provenance)),
			cip("private", spec(reg.Host+"/private/**", keyless("ci", "private-sigstore", v1alpha1.TlogIgnore, ci))),
		},
		TrustRoots: []v1alpha1.TrustRoot{trustRoot("ours", 1, ours.TrustedRootJSON), trustRoot("private-sigstore", 1, private.TrustedRootJSON)},
	})
	for _, tt := range []struct {
		name, image, denial string
	}{
		{"Rekor v2 signature with a timestamp", v2Signed, ""},
		{"Rekor v2 attestation with a timestamp", v2Attested, ""},
		{"Rekor v2 signature without a timestamp", v2Unstamped, "its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies"},
		{"no log and no SCT, tlog ignored, root without CT logs", githubPrivate, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dec := decide(t, e, "team", tt.image)
			denials := strings.Join(dec.Denials(), "\n")
			if tt.denial == "" && !dec.Allowed {
				t.Fatalf("denied: %s", denials)
			}
			if tt.denial != "" && (dec.Allowed || !strings.Contains(denials, tt.denial)) {
				t.Fatalf("allowed %v, %q; want a denial saying %q", dec.Allowed, denials, tt.denial)
			}
		})
	}
}
