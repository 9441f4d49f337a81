package verify

import "encoding/json"

// The formats a signature or attestation can be stored in.
const (
	// FormatLegacy is cosign's `sha256-<hex>.sig` / `.att` tag scheme.
	FormatLegacy = "legacy"
	// FormatBundle is a Sigstore bundle attached as an OCI referrer.
	FormatBundle = "bundle"
)

// Result is what one authority verified for one digest.
type Result struct {
	Signatures   []Signature
	Attestations []Attestation
}

// Signer says who made a verified signature: a key ID for keys, a certificate subject and
// issuer for keyless signatures.
type Signer struct {
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	KeyID   string `json:"keyId,omitempty"`
}

// Signature is one verified image signature.
type Signature struct {
	Signer
	Format string `json:"format"`
}

// Attestation is one verified in-toto statement about the digest.
type Attestation struct {
	Signer
	Format        string          `json:"format"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}
