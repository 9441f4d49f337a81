package sigtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// Key is an ECDSA P-256 signing key, as `cosign generate-key-pair` makes.
type Key struct {
	SV signature.SignerVerifier
	// PEM is the public key.
	PEM []byte
}

// NewKey generates a key.
func NewKey(t testing.TB) *Key {
	t.Helper()
	sv, _, err := signature.NewDefaultECDSASignerVerifier()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{SV: sv, PEM: pem}
}

// SignLegacy attaches a cosign simple-signing signature of d to its `.sig` tag, as
// `cosign sign --new-bundle-format=false` does. payloadFor, when given, is the digest the
// payload claims (to forge a signature of another image).
func (k *Key) SignLegacy(t testing.TB, d name.Digest, payloadFor ...name.Digest) {
	t.Helper()
	claimed := d
	if len(payloadFor) > 0 {
		claimed = payloadFor[0]
	}
	payload, err := (&sigpayload.Cosign{Image: claimed}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.SV.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	se, err = mutate.AttachSignatureToEntity(se, ociSig)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Repository, se); err != nil {
		t.Fatalf("writing signature of %s: %v", d, err)
	}
}

// Statement returns an in-toto statement about d.
func Statement(t testing.TB, d name.Digest, predicateType string, predicate any) []byte {
	t.Helper()
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": d.DigestStr()[len("sha256:"):]}}},
		"predicateType": predicateType,
	}
	if predicate != nil {
		st["predicate"] = predicate
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k *Key) envelope(t testing.TB, statement []byte) []byte {
	t.Helper()
	env, err := dsse.WrapSigner(k.SV, types.IntotoPayloadType).SignMessage(bytes.NewReader(statement))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// AttestLegacy attaches a DSSE attestation to d's `.att` tag, as `cosign attest
// --new-bundle-format=false` does.
func (k *Key) AttestLegacy(t testing.TB, d name.Digest, statement []byte) {
	t.Helper()
	att, err := static.NewAttestation(k.envelope(t, statement))
	if err != nil {
		t.Fatal(err)
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		t.Fatal(err)
	}
	se, err = mutate.AttachAttestationToEntity(se, att)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestations(d.Repository, se); err != nil {
		t.Fatalf("writing attestation of %s: %v", d, err)
	}
}

// AttestBundle attaches statement as a Sigstore bundle referrer of d, as cosign v3 does.
func (k *Key) AttestBundle(t testing.TB, d name.Digest, predicateType string, statement []byte) {
	t.Helper()
	pub, err := k.SV.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cbundle.MakeNewBundle(pub, nil, statement, k.envelope(t, statement), k.PEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, b, predicateType); err != nil {
		t.Fatalf("writing bundle for %s: %v", d, err)
	}
}

// SignBundle attaches a bundle-format signature of d: a DSSE statement of cosign's sign
// predicate type, as `cosign sign` in cosign v3 writes by default.
func (k *Key) SignBundle(t testing.TB, d name.Digest) {
	t.Helper()
	k.AttestBundle(t, d, types.CosignSignPredicateType, Statement(t, d, types.CosignSignPredicateType, nil))
}
