package image

import (
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// caBundle returns the Mozilla NSS roots that golang.org/x/crypto/x509roots/fallback carries, as
// one PEM file. Roots NSS constrains (distrusted for certificates issued after a date) are left
// out: a PEM bundle cannot carry the constraint, and with it a root would be trusted for more
// than NSS trusts it.
func caBundle() ([]byte, int, error) {
	var out []byte
	n := 0
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})...)
		n++
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("the x509roots fallback bundle has no unconstrained root")
	}
	return out, n, nil
}
