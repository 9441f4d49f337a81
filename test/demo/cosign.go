package main

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// The demo signs through the cosign library Portcullis already links rather than the cosign
// CLI, whose build would lengthen a first `make demo` by minutes; it shows the command that
// does each step, and test/e2e checks that the real cosign CLI verifies what it signs.

// keyPair makes an ECDSA P-256 key, as `cosign generate-key-pair --output-key-prefix prefix`
// does, and writes its public key to prefix.pub.
func (d *demo) keyPair(prefix string) (*sigtest.Key, error) {
	fmt.Printf("$ cosign generate-key-pair --output-key-prefix %s\n", prefix)
	k, err := sigtest.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generating the %s key: %w", prefix, err)
	}
	d.write(prefix+".pub", string(k.PEM))
	return k, nil
}

// sign attaches a Sigstore bundle signing ref (repo@digest) with k, as `cosign sign` does with a
// signing config that names no transparency log (the demo is offline).
func (d *demo) sign(k *sigtest.Key, prefix, ref string) error {
	fmt.Printf("$ cosign sign --key %s.key --signing-config sc.json --yes %s\n", prefix, ref)
	digest, err := name.NewDigest(ref)
	if err != nil {
		return err
	}
	if err := k.WriteBundleSignature(digest); err != nil {
		return fmt.Errorf("signing %s: %w", ref, err)
	}
	return nil
}
