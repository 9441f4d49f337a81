package verify

import (
	"context"
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// fuzzAuthorities are a key authority (a fresh key nobody else holds) and a keyless one (the
// embedded public-good root): no fuzzed material can be signed by either.
func fuzzAuthorities(f *testing.F) []*Authority {
	sv, _, err := signature.NewDefaultECDSASignerVerifier()
	if err != nil {
		f.Fatal(err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		f.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		f.Fatal(err)
	}
	key, err := ParsePublicKey(pem)
	if err != nil {
		f.Fatal(err)
	}
	return []*Authority{
		{Name: "key", Key: key},
		{Name: "keyless", Identities: []Identity{{Issuer: "https://token.actions.githubusercontent.com", SubjectRegExp: "^https://github.com/acme/"}}, RequireTlog: true},
	}
}

// FuzzBundle: no Sigstore bundle crashes its parsing or verification, and none verifies
// against an authority it was not signed for.
func FuzzBundle(f *testing.F) {
	for _, s := range []string{`{}`, `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`,
		`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {"publicKey": {"hint": "x"}}, "dsseEnvelope": {"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "MEUCIQ=="}]}}`,
		`{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2", "verificationMaterial": {"x509CertificateChain": {"certificates": [{"rawBytes": "MIIB"}]}, "tlogEntries": [{"logIndex": "1", "integratedTime": "-1"}]}, "messageSignature": {"signature": "AA=="}}`} {
		f.Add([]byte(s))
	}
	auths := fuzzAuthorities(f)
	h, _ := v1.NewHash("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, doc []byte) {
		var b sgbundle.Bundle
		if err := b.UnmarshalJSON(doc); err != nil {
			return
		}
		_ = isSignatureBundle(&b)
		for _, a := range auths {
			co, err := checkOpts(a, cosign.SimpleClaimVerifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := verifyBundleAs(co.TrustedMaterial, h, &b, a); err == nil {
				t.Fatalf("a fuzzed bundle verified against %s: %s", a.Name, doc)
			}
		}
	})
}

// FuzzLegacySignature: no legacy signature layer (payload, signature, certificate, chain,
// Rekor bundle, timestamp annotations) crashes the verifier, and none verifies.
func FuzzLegacySignature(f *testing.F) {
	f.Add([]byte(`{"critical": {"image": {"docker-manifest-digest": "sha256:00"}}}`), "MEUCIQ==", []byte(""), []byte(""), []byte(""))
	f.Add([]byte(`{}`), "", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte(" \n"), []byte(`{"SignedEntryTimestamp": "AA==", "Payload": {"body": "e30=", "integratedTime": 1, "logIndex": 1, "logID": "x"}}`))
	auths := fuzzAuthorities(f)
	h, _ := v1.NewHash("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	s := &Session{ctx: context.Background()}
	f.Fuzz(func(t *testing.T, payload []byte, b64sig string, cert, chain, rekor []byte) {
		opts := []static.Option{}
		if len(cert) > 0 || len(chain) > 0 {
			opts = append(opts, static.WithCertChain(cert, chain))
		}
		if len(rekor) > 0 {
			var rb cbundle.RekorBundle
			if json.Unmarshal(rekor, &rb) == nil {
				opts = append(opts, static.WithBundle(&rb))
			}
		}
		sig, err := static.NewSignature(payload, b64sig, opts...)
		if err != nil {
			return
		}
		c, err := copyLayer(sig)
		if err != nil {
			return // refused alone, with its reason
		}
		for _, a := range auths {
			co, err := checkOpts(a, cosign.SimpleClaimVerifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.verifyLegacy(c, h, co, a, cosign.VerifyImageSignature); err == nil {
				t.Fatalf("a fuzzed signature verified against %s", a.Name)
			}
		}
	})
}
