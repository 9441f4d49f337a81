package verify_test

import (
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestRekorV2: a bundle logged in a Rekor v2 log (hashedrekord 0.0.2, a checkpoint and an
// inclusion proof, no SET and no time) verifies with an RFC 3161 timestamp from a trusted
// timestamp authority, signature or attestation; every way an attacker could stand in for
// the entry or the time is refused, saying why.
func TestRekorV2(t *testing.T) {
	ss := newSigstore(t)
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	v2 := func(f sigtest.Forgery, timestamp bool) sigtest.Identity {
		return sigtest.Identity{Subject: workflow, Issuer: github, RekorV2: true, Forgery: f, Timestamp: timestamp}
	}
	bogus := v2(sigtest.Genuine, false)
	bogus.BogusTimestamp = true
	tests := []struct {
		name    string
		as      sigtest.Identity
		tlog    bool
		failure []string // none means verified
	}{
		{"logged, timestamped", v2(sigtest.Genuine, true), true, nil},
		{"logged, timestamped, tlog ignored", v2(sigtest.Genuine, true), false, nil},
		{"no timestamp", v2(sigtest.Genuine, false), true,
			[]string{"its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies"}},
		{"timestamp over another signature", bogus, true,
			[]string{"its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies: hashed messages don't match"}},
		{"entry from a log the root does not name", v2(sigtest.UntrustedLog, true), true,
			[]string{"its log checkpoint is not signed by the transparency log the trust root names"}},
		{"checkpoint of another origin", v2(sigtest.OtherOrigin, true), true,
			[]string{"its log checkpoint is not signed by the transparency log the trust root names"}},
		{"no inclusion proof", v2(sigtest.NoInclusionProof, true), true,
			[]string{"is not a readable Sigstore bundle: inclusion proof missing"}},
		{"entry of another signature", v2(sigtest.OtherSignature, true), true,
			[]string{"its log entry's inclusion proof does not lead from this signature to the signed checkpoint"}},
	}
	for _, attest := range []bool{false, true} {
		for i, tt := range tests {
			kind := map[bool]string{false: "signature", true: "attestation"}[attest]
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				d := reg.PushRandom(t, "rekor-v2/"+kind+":"+string(rune('a'+i)))
				signKeyless(t, ss, d, verify.FormatBundle, attest, tt.as)
				a := &verify.Authority{Name: "ci", Identities: []verify.Identity{ciIdentity}, TrustedMaterial: ss.TrustedRoot, RequireTlog: tt.tlog}
				if attest {
					a.Attestations = []string{provenance}
				}
				checkKeyless(t, c, d, a, tt.failure, tt.as)
			})
		}
	}
}
