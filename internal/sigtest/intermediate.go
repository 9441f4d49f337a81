package sigtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// NewSigstoreIntermediateUntil makes a Sigstore like NewSigstore's whose Fulcio intermediate
// expires at notAfter, while the leaf certificates it issues keep their own ten minutes: a leaf
// may outlive its issuer (CVE-2026-24122).
func NewSigstoreIntermediateUntil(notAfter time.Time) (*Sigstore, error) {
	s, err := NewSigstore()
	if err != nil {
		return nil, err
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	inter, err := create(&x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "sigstore-intermediate", Organization: []string{"sigstore.dev"}},
		NotBefore:    rootCert.NotBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true, IsCA: true,
	}, rootCert, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	s.root, s.intermediate, s.intermediateKey = rootCert, inter, interKey
	return s, s.publish()
}
