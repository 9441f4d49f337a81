package sigtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// Key is an ECDSA P-256 signing key, as `cosign generate-key-pair` makes. Its Write methods
// return errors (for the load generator and the demo); the others fail the test.
type Key struct {
	SV signature.SignerVerifier
	// PEM is the public key.
	PEM []byte
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// GenerateKey generates a key.
func GenerateKey() (*Key, error) {
	sv, _, err := signature.NewDefaultECDSASignerVerifier()
	if err != nil {
		return nil, err
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, err
	}
	return &Key{SV: sv, PEM: pem}, nil
}

// NewKey generates a key.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := GenerateKey()
	must(t, err)
	return k
}

// WriteSignature attaches a cosign simple-signing signature to d's `.sig` tag, as
// `cosign sign --new-bundle-format=false` does, whose payload claims the digest claimed.
func (k *Key) WriteSignature(d, claimed name.Digest) error {
	payload, err := (&sigpayload.Cosign{Image: claimed}).MarshalJSON()
	if err != nil {
		return err
	}
	sig, err := k.SV.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		return err
	}
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		return err
	}
	if se, err = mutate.AttachSignatureToEntity(se, ociSig); err != nil {
		return err
	}
	if err := ociremote.WriteSignatures(d.Repository, se); err != nil {
		return fmt.Errorf("writing signature of %s: %w", d, err)
	}
	return nil
}

// SignLegacy signs d in the legacy format. payloadFor, when given, is the digest the payload
// claims (to forge a signature of another image).
func (k *Key) SignLegacy(t testing.TB, d name.Digest, payloadFor ...name.Digest) {
	t.Helper()
	claimed := d
	if len(payloadFor) > 0 {
		claimed = payloadFor[0]
	}
	must(t, k.WriteSignature(d, claimed))
}

// Statement returns an in-toto statement about d.
func Statement(t testing.TB, d name.Digest, predicateType string, predicate any) []byte {
	t.Helper()
	b, err := statementJSON(d, predicateType, predicate)
	must(t, err)
	return b
}

func statementJSON(d name.Digest, predicateType string, predicate any) ([]byte, error) {
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": d.DigestStr()[len("sha256:"):]}}},
		"predicateType": predicateType,
	}
	if predicate != nil {
		st["predicate"] = predicate
	}
	return json.Marshal(st)
}

func (k *Key) envelope(statement []byte) ([]byte, error) {
	return dsse.WrapSigner(k.SV, types.IntotoPayloadType).SignMessage(bytes.NewReader(statement))
}

// AttestLegacy attaches a DSSE attestation to d's `.att` tag, as `cosign attest
// --new-bundle-format=false` does.
func (k *Key) AttestLegacy(t testing.TB, d name.Digest, statement []byte) {
	t.Helper()
	env, err := k.envelope(statement)
	must(t, err)
	att, err := static.NewAttestation(env)
	must(t, err)
	se, err := ociremote.SignedEntity(d)
	must(t, err)
	se, err = mutate.AttachAttestationToEntity(se, att)
	must(t, err)
	must(t, ociremote.WriteAttestations(d.Repository, se))
}

// WriteBundle attaches statement as a Sigstore bundle referrer of d, as cosign v3 does.
func (k *Key) WriteBundle(d name.Digest, predicateType string, statement []byte) error {
	pub, err := k.SV.PublicKey()
	if err != nil {
		return err
	}
	env, err := k.envelope(statement)
	if err != nil {
		return err
	}
	b, err := cbundle.MakeNewBundle(pub, nil, statement, env, k.PEM, nil)
	if err != nil {
		return err
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, b, predicateType); err != nil {
		return fmt.Errorf("writing bundle for %s: %w", d, err)
	}
	return nil
}

// AttestBundle attaches statement as a Sigstore bundle referrer of d.
func (k *Key) AttestBundle(t testing.TB, d name.Digest, predicateType string, statement []byte) {
	t.Helper()
	must(t, k.WriteBundle(d, predicateType, statement))
}

// WriteBundleSignature attaches a bundle-format signature of d: a DSSE statement of cosign's
// sign predicate type, as `cosign sign` in cosign v3 writes by default.
func (k *Key) WriteBundleSignature(d name.Digest) error {
	statement, err := statementJSON(d, types.CosignSignPredicateType, nil)
	if err != nil {
		return err
	}
	return k.WriteBundle(d, types.CosignSignPredicateType, statement)
}

// SignBundle is WriteBundleSignature, failing the test on an error.
func (k *Key) SignBundle(t testing.TB, d name.Digest) {
	t.Helper()
	must(t, k.WriteBundleSignature(d))
}
