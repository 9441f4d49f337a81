package verify

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// publicGoodJSON is the public-good Sigstore trusted root (Fulcio CAs, Rekor and CT log keys),
// as shipped in github.com/sigstore/sigstore v1.10.8 pkg/tuf/repository/targets/trusted_root.json
// and sigstore-go v1.2.2 examples/trusted-root-public-good.json (identical files).
//
//go:embed trusted_root_public_good.json
var publicGoodJSON []byte

// PublicGoodSnapshot says which snapshot of the public-good trusted root is embedded: its newest
// validity start, and where it was taken from.
const PublicGoodSnapshot = "2023-04-14 (newest key validity start); github.com/sigstore/sigstore v1.10.8"

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
