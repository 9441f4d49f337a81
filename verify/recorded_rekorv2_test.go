package verify_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

const publicGood2026 = "../test/testdata/sigstore/public-good-2026"

// TestRecordedRekorV2 verifies the production Rekor v2 + TSA bundles of
// test/testdata/sigstore/public-good-2026, offline: the DSSE provenance attestation against
// the embedded (today's) root and not the 2023 one; and the message signature, whose log
// entry names the certificate's public key where the bundle carries the certificate, refused
// as cosign v3.1.3 refuses it, though it verifies when the log is ignored (PROVENANCE.md).
func TestRecordedRekorV2(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	embedded, err := verify.PublicGood()
	if err != nil {
		t.Fatal(err)
	}
	old := trustRoots(t)["trusted_root_pgi.json"]
	read := func(f string) []byte { return readFile(t, filepath.Join(publicGood2026, f)) }
	dsse := sigtest.PushArtifact(t, reg, "public-good-2026/dsse:1", read("rekor-v2-dsse-provenance.artifact"), read("rekor-v2-dsse-provenance.sigstore.json"))
	msg := sigtest.PushArtifact(t, reg, "public-good-2026/message:1", read("rekor-v2-message-signature.artifact"), read("rekor-v2-message-signature.sigstore.json"))
	sa := verify.Identity{Subject: "untrusted-sa@sigstore-conformance.iam.gserviceaccount.com", Issuer: "https://accounts.google.com"}
	brian := verify.Identity{Subject: "brian@dehamer.com", Issuer: "https://github.com/login/oauth"}
	other := verify.Identity{Subject: "someone@example.com", Issuer: "https://accounts.google.com"}
	tests := []struct {
		name    string
		d       string
		id      verify.Identity
		tm      string
		tlog    bool
		failure string // empty means verified
	}{
		{"provenance, today's root", "dsse", sa, "embedded", true, ""},
		{"provenance, today's root, tlog ignored", "dsse", sa, "embedded", false, ""},
		{"provenance, 2023 root", "dsse", sa, "2023", true, "no transparency log entry verified by a log the trust root names"},
		{"provenance, another identity", "dsse", other, "embedded", true, `wanted subject "someone@example.com"`},
		{"message signature, entry names a key", "msg", brian, "embedded", true,
			"its log entry's inclusion proof does not lead from this signature to the signed checkpoint"},
		{"message signature, log ignored", "msg", brian, "embedded", false, ""},
		{"message signature, log ignored, 2023 root", "msg", brian, "2023", false, "no signed timestamp from a trusted timestamp authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &verify.Authority{Name: "recorded", Identities: []verify.Identity{tt.id}, TrustedMaterial: embedded, RequireTlog: tt.tlog}
			if tt.tm == "2023" {
				a.TrustedMaterial = old
			}
			d := msg
			if tt.d == "dsse" {
				d, a.Attestations = dsse, []string{provenance}
			}
			res, err := session(t, c).Verify(d, a)
			if tt.failure == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if tt.d == "dsse" && res.Attestations[0].Signer.Subject != tt.id.Subject {
					t.Fatalf("signer %+v, want %s", res.Attestations[0].Signer, tt.id.Subject)
				}
				return
			}
			if !verify.IsFailure(err) || !strings.Contains(err.Error(), tt.failure) {
				t.Fatalf("Verify = %+v, %v; want a failure saying %q", res, err, tt.failure)
			}
		})
	}
}
