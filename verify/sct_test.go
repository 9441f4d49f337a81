package verify_test

import (
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestSCTOnlyWhenTheRootHasCTLogs: GitHub's Sigstore for private repositories has a Fulcio and
// a timestamp authority but no transparency log and no CT log, so its certificates carry no
// SCT. A keyless authority with tlog: ignore verifies them when its trust root names no CT
// log, and still wants an SCT when it names one.
func TestSCTOnlyWhenTheRootHasCTLogs(t *testing.T) {
	private, err := sigtest.NewSigstoreWithoutLogs()
	if err != nil {
		t.Fatal(err)
	}
	public := newSigstore(t)
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	stamped := sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true, Timestamp: true}
	noSCT := stamped
	noSCT.NoSCT = true
	tests := []struct {
		name    string
		ss      *sigtest.Sigstore
		as      sigtest.Identity
		tlog    bool
		failure []string // none means verified
	}{
		{"no CT log in the root, no SCT", private, stamped, false, nil},
		{"CT logs in the root, no SCT", public, noSCT, false, []string{"certificate does not include required embedded SCT", "failed to verify signed certificate timestamp"}},
		{"no CT log in the root, log required", private, stamped, true, []string{"no transparency log entry"}},
		{"no CT log in the root, no timestamp", private, sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true}, false, []string{"no signed timestamp from a trusted timestamp authority"}},
	}
	for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
		for _, attest := range []bool{false, true} {
			for i, tt := range tests {
				kind := map[bool]string{false: "signature", true: "attestation"}[attest]
				t.Run(format+"/"+kind+"/"+tt.name, func(t *testing.T) {
					d := reg.PushRandom(t, "sct/"+format+"-"+kind+":"+string(rune('a'+i)))
					signKeyless(t, tt.ss, d, format, attest, tt.as)
					a := &verify.Authority{Name: "ci", Identities: []verify.Identity{ciIdentity}, TrustedMaterial: tt.ss.TrustedRoot, RequireTlog: tt.tlog}
					if attest {
						a.Attestations = []string{provenance}
					}
					checkKeyless(t, c, d, a, tt.failure, tt.as)
				})
			}
		}
	}
}
