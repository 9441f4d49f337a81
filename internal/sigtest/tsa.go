package sigtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// extKeyUsageOID is id-ce-extKeyUsage: RFC 3161 wants a TSA's timestamping EKU critical.
var extKeyUsageOID = asn1.ObjectIdentifier{2, 5, 29, 37}

// tsa makes a timestamp authority's chain (leaf, intermediate, root) and the leaf's key, all
// valid as long as the root: from 5 hours ago to 5 hours ahead. Timestamp verifiers check the
// chain at the time a timestamp names, and sigstore-go's pkg/testing/ca makes its TSA
// intermediate valid only from 2 minutes ago, too late for a timestamp made before that.
func tsa() ([]*x509.Certificate, *ecdsa.PrivateKey, error) {
	rootCA, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	inter, err := create(&x509.Certificate{
		SerialNumber: big.NewInt(4),
		Subject:      pkix.Name{CommonName: "sigstore-tsa-intermediate", Organization: []string{"sigstore.dev"}},
		NotBefore:    rootCA.NotBefore, NotAfter: rootCA.NotAfter,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, BasicConstraintsValid: true, IsCA: true,
	}, rootCA, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}}) // id-kp-timeStamping
	if err != nil {
		return nil, nil, err
	}
	leaf, err := create(&x509.Certificate{
		SerialNumber: big.NewInt(5),
		Subject:      pkix.Name{CommonName: "sigstore-tsa", Organization: []string{"sigstore.dev"}},
		NotBefore:    rootCA.NotBefore, NotAfter: rootCA.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: extKeyUsageOID, Critical: true, Value: eku}},
	}, inter, &key.PublicKey, interKey)
	if err != nil {
		return nil, nil, err
	}
	return []*x509.Certificate{leaf, inter, rootCA}, key, nil
}
