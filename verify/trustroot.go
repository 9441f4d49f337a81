package verify

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// publicGoodJSON is the public-good Sigstore trusted root (Fulcio CAs, Rekor v1 and v2 logs, CT
// logs, the timestamp authority), as published by github.com/sigstore/root-signing at
// targets/trusted_root.json since c9bda74 (2025-09-22, "Update TR and SC for first Rekor v2
// instance"), still current at its HEAD of 2026-08-21 (test/testdata/sigstore/root-signing).
//
//go:embed trusted_root_public_good.json
var publicGoodJSON []byte

// PublicGoodSnapshot says which snapshot of the public-good trusted root is embedded: its newest
// validity start, and where it was taken from.
const PublicGoodSnapshot = "sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66 (root-signing targets/trusted_root.json, 2025-09-22: Rekor v2 log2025-1, timestamp.sigstore.dev)"

var publicGood = sync.OnceValues(func() (*root.TrustedRoot, error) {
	return ParseTrustedRoot(publicGoodJSON)
})

// PublicGood returns the embedded public-good Sigstore trusted root.
func PublicGood() (*root.TrustedRoot, error) { return publicGood() }

// ParseTrustedRoot parses a Sigstore TrustedRoot JSON document.
func ParseTrustedRoot(doc []byte) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("parsing Sigstore trusted root: %w", err)
	}
	return tr, nil
}

// PublicGoodJSON returns the embedded public-good trusted root document, as published.
func PublicGoodJSON() []byte { return append([]byte(nil), publicGoodJSON...) }
