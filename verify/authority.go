package verify

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Authority is one signer, as far as the registry and the cryptography need to know it.
type Authority struct {
	// Name identifies the authority in reasons.
	Name string
	// Key verifies key-based signatures. Without it the authority is keyless.
	Key *PublicKey
	// Identities are the certificate identities a keyless authority accepts; one must match.
	Identities []Identity
	// TrustedMaterial holds the Fulcio CAs, CT logs, Rekor logs and timestamp authorities to
	// trust. Nil means the embedded public-good root.
	TrustedMaterial root.TrustedMaterial
	// RequireTlog needs a verified transparency log entry on each signature, and a verified
	// time that a keyless certificate is checked at: the time a Rekor v1 log recorded, or a
	// signed timestamp from a trusted timestamp authority (a Rekor v2 entry records no time, so
	// it always needs one). Without it, a keyless signature needs a signed timestamp instead.
	RequireTlog bool
	// AdmissionTime checks a keyless certificate chain at admission time when a signature has
	// neither a verified log entry the authority requires nor a signed timestamp, instead of
	// refusing it: for an organization's own CA, whose certificates outlive a signature.
	AdmissionTime bool
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
	// cosign's signature.LoadPublicKeyRaw is these two calls; its package also links the
	// KMS and git (GitHub, GitLab) key providers.
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
	if err != nil {
		return nil, fmt.Errorf("parsing PEM public key: %w", err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("parsing PEM public key: %w", err)
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

// Identity is a certificate identity a keyless authority accepts: the OIDC issuer and the
// subject (the certificate's SAN), each exact or an RE2 expression matched as written (anchor
// it with ^ and $); or, with GitHub set and the rest empty, a GitHub Actions workflow. An
// identity without an issuer accepts any issuer, or none (a bring-your-own CA's certificates).
type Identity struct {
	Issuer, Subject             string
	IssuerRegExp, SubjectRegExp string
	GitHub                      *GitHubActions
}

// String renders the identity as deny messages show it.
func (i Identity) String() string {
	if i.GitHub != nil {
		return i.GitHub.String()
	}
	issuer, subject := strconv.Quote(i.Issuer), strconv.Quote(i.Subject)
	if i.IssuerRegExp != "" {
		issuer = "matching " + strconv.Quote(i.IssuerRegExp)
	}
	if i.SubjectRegExp != "" {
		subject = "matching " + strconv.Quote(i.SubjectRegExp)
	}
	if i.Issuer == "" && i.IssuerRegExp == "" {
		return "subject " + subject + ", any issuer"
	}
	return "subject " + subject + ", issuer " + issuer
}

// Validate checks that every regular expression compiles and that the identity is either a
// GitHub short form alone, or a subject with at most one issuer.
func (i Identity) Validate() error {
	if i.GitHub != nil {
		if i.Issuer != "" || i.IssuerRegExp != "" || i.Subject != "" || i.SubjectRegExp != "" {
			return errors.New("a github identity sets the issuer and subject itself: leave them out")
		}
		return i.GitHub.Validate()
	}
	for _, re := range []string{i.IssuerRegExp, i.SubjectRegExp} {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("identity regular expression %q: %w", re, err)
		}
	}
	if (i.Issuer != "" && i.IssuerRegExp != "") || (i.Subject == "") == (i.SubjectRegExp == "") {
		return errors.New("an identity needs at most one of issuer or issuerRegExp, and exactly one of subject or subjectRegExp")
	}
	return nil
}

func wanted(ids []Identity) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return "wanted " + strings.Join(parts, ", or ")
}
