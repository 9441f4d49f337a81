package verify

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	csig "github.com/sigstore/cosign/v2/pkg/signature"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Authority is one signer, as far as the registry and the cryptography need to know it.
type Authority struct {
	// Name identifies the authority in reasons.
	Name string
	// Key verifies key-based signatures.
	Key *PublicKey
	// TrustedMaterial holds the Rekor logs (and Fulcio CAs and CT logs) to trust. Nil means
	// the embedded public-good root.
	TrustedMaterial root.TrustedMaterial
	// RequireTlog needs a verified transparency log entry on each signature.
	RequireTlog bool
	// SignatureRepository is where signatures live when not beside the image.
	SignatureRepository *name.Repository
	// Attestations are the predicate types (full URIs) that must each be attested. When set,
	// they alone satisfy the authority.
	Attestations []string
}

// PublicKey is a parsed PEM public key and its ID.
type PublicKey struct {
	verifier signature.Verifier
	// ID is the hex SHA-256 of the key's DER (PKIX) encoding.
	ID string
}

// ParsePublicKey parses a PEM public key (ECDSA, RSA or ed25519).
func ParsePublicKey(pem []byte) (*PublicKey, error) {
	if len(pem) == 0 {
		return nil, errors.New("parsing public key: empty PEM")
	}
	v, err := csig.LoadPublicKeyRaw(pem, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("parsing PEM public key: %w", err)
	}
	pub, err := v.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &PublicKey{verifier: v, ID: hex.EncodeToString(sum[:])}, nil
}

func (a *Authority) trustedMaterial() (root.TrustedMaterial, error) {
	if a.TrustedMaterial != nil {
		return a.TrustedMaterial, nil
	}
	return PublicGood()
}
