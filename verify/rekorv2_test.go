package verify_test

import (
	"strings"
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
		{"entry from a log the root does not name, under its own ID", v2(sigtest.UnknownLog, true), true,
			[]string{"no transparency log entry verified by a log the trust root names"}},
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

// TestRekorV2Key: a key-signed bundle whose Rekor v2 entry names the public key. With the log
// required it needs a trusted timestamp too; with the log ignored the key alone decides. A
// bundle signed by another key whose hint names the authority's key is refused: the hint is
// the signer's to choose, and the authority's own key rebuilds the entry.
func TestRekorV2Key(t *testing.T) {
	ss := newSigstore(t)
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	owner, attacker := sigtest.NewKey(t), sigtest.NewKey(t)
	ownerKey, err := verify.ParsePublicKey(owner.PEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		signer    *sigtest.Key
		timestamp bool
		hint      string
		tlog      bool
		failure   string // empty means verified
	}{
		{"logged, timestamped", owner, true, "", true, ""},
		{"logged, no timestamp", owner, false, "", true, "its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies"},
		{"log ignored, no timestamp", owner, false, "", false, ""},
		{"another key, hinting at the authority's", attacker, true, "owner", true, "its log entry's inclusion proof does not lead from this signature to the signed checkpoint"},
		{"another key, log ignored", attacker, true, "owner", false, "signed by another key"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := reg.PushRandom(t, "rekor-v2-key/app:"+string(rune('a'+i)))
			hint := ""
			if tt.hint == "owner" {
				hint = ownerKey.ID
			}
			if err := ss.SignBundleV2(d, tt.signer, tt.timestamp, hint); err != nil {
				t.Fatal(err)
			}
			a := &verify.Authority{Name: "release", Key: ownerKey, TrustedMaterial: ss.TrustedRoot, RequireTlog: tt.tlog}
			res, err := session(t, c).Verify(d, a)
			if tt.failure == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !verify.IsFailure(err) || !strings.Contains(err.Error(), tt.failure) {
				t.Fatalf("Verify = %+v, %v; want a failure saying %q", res, err, tt.failure)
			}
		})
	}
}
