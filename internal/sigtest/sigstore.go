package sigtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Sigstore is an in-memory Sigstore: a Fulcio CA, a CT log, a Rekor v1 log, a Rekor v2 log
// (Ed25519, as public-good's log2025-1) and a timestamp authority, with their keys, and the trusted root that names them. Its certificates carry
// real embedded SCTs, which sigstore-go's pkg/testing/ca does not make, so the CA certificates
// come from that package and the rest is made here with the same libraries.
type Sigstore struct {
	root, intermediate *x509.Certificate
	intermediateKey    *ecdsa.PrivateKey
	rekorKey, ctKey    *ecdsa.PrivateKey
	rekorV2Key         ed25519.PrivateKey
	tsaChain           []*x509.Certificate
	tsaKey             *ecdsa.PrivateKey
	// withoutLogs leaves the transparency and CT logs out of the trusted root, and SCTs out of
	// certificates.
	withoutLogs bool
	// TrustedRootJSON is the Sigstore TrustedRoot document, as a TrustRoot resource holds it.
	TrustedRootJSON []byte
	// TrustedRoot is that document parsed.
	TrustedRoot *root.TrustedRoot
}

// NewSigstore makes a Sigstore whose CAs and logs are valid from 5 hours ago to 5 hours ahead.
func NewSigstore() (*Sigstore, error) {
	s := &Sigstore{}
	var err error
	if s.root, _, s.intermediate, s.intermediateKey, err = fulcio(); err != nil {
		return nil, err
	}
	if s.tsaChain, s.tsaKey, err = tsa(); err != nil {
		return nil, err
	}
	for _, k := range []**ecdsa.PrivateKey{&s.rekorKey, &s.ctKey} {
		if *k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
	}
	if _, s.rekorV2Key, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	return s, s.publish()
}

// fulcio makes a root CA (valid from 5 hours ago) and a code-signing intermediate under it,
// valid as long, so that certificates issued an hour ago chain.
func fulcio() (rootCert *x509.Certificate, rootKey *ecdsa.PrivateKey, inter *x509.Certificate, interKey *ecdsa.PrivateKey, err error) {
	if rootCert, rootKey, err = ca.GenerateRootCa(); err != nil {
		return
	}
	if interKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return
	}
	inter, err = create(&x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "sigstore-intermediate", Organization: []string{"sigstore.dev"}},
		NotBefore:    rootCert.NotBefore, NotAfter: rootCert.NotAfter,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true, IsCA: true,
	}, rootCert, &interKey.PublicKey, rootKey)
	return
}

// publish writes the trusted root that names the Sigstore's CAs and logs as they are now.
func (s *Sigstore) publish() error {
	var err error
	if s.TrustedRootJSON, err = s.trustedRootJSON(); err != nil {
		return err
	}
	s.TrustedRoot, err = root.NewTrustedRootFromJSON(s.TrustedRootJSON)
	return err
}

func (s *Sigstore) trustedRootJSON() ([]byte, error) {
	validFor := &protocommon.TimeRange{Start: timestamppb.New(time.Now().Add(-5 * time.Hour))}
	logOf := func(url string, k crypto.Signer) (*prototrustroot.TransparencyLogInstance, error) {
		der, err := x509.MarshalPKIXPublicKey(k.Public())
		if err != nil {
			return nil, err
		}
		id := sha256.Sum256(der)
		details := protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
		if _, ok := k.(ed25519.PrivateKey); ok {
			details = protocommon.PublicKeyDetails_PKIX_ED25519
		}
		return &prototrustroot.TransparencyLogInstance{
			BaseUrl:       url,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey:     &protocommon.PublicKey{RawBytes: der, KeyDetails: details, ValidFor: validFor},
			LogId:         &protocommon.LogId{KeyId: id[:]},
		}, nil
	}
	chain := func(certs ...*x509.Certificate) *protocommon.X509CertificateChain {
		c := &protocommon.X509CertificateChain{}
		for _, cert := range certs {
			c.Certificates = append(c.Certificates, &protocommon.X509Certificate{RawBytes: cert.Raw})
		}
		return c
	}
	rekor, err := logOf("https://rekor.localhost", s.rekorKey)
	if err != nil {
		return nil, err
	}
	rekorV2, err := logOf(RekorV2URL, s.rekorV2Key)
	if err != nil {
		return nil, err
	}
	ctlog, err := logOf("https://ctfe.localhost", s.ctKey)
	if err != nil {
		return nil, err
	}
	tr := &prototrustroot.TrustedRoot{
		MediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		Tlogs:     []*prototrustroot.TransparencyLogInstance{rekor, rekorV2},
		Ctlogs:    []*prototrustroot.TransparencyLogInstance{ctlog},
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject: &protocommon.DistinguishedName{Organization: "sigstore.dev", CommonName: "sigstore"},
			Uri:     "https://fulcio.localhost", CertChain: chain(s.intermediate, s.root), ValidFor: validFor,
		}},
		TimestampAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject: &protocommon.DistinguishedName{Organization: "sigstore.dev", CommonName: "tsa"},
			Uri:     "https://tsa.localhost", CertChain: chain(s.tsaChain...), ValidFor: validFor,
		}},
	}
	if s.withoutLogs {
		tr.Tlogs, tr.Ctlogs = nil, nil
	}
	b, err := protojson.Marshal(tr)
	if err != nil {
		return nil, fmt.Errorf("encoding the trusted root: %w", err)
	}
	return b, nil
}

// ChainPEM is the Fulcio CA's chain as PEM, the intermediate first and the root last: what an
// organization gives as its own certificate authority.
func (s *Sigstore) ChainPEM() []byte {
	return pemOf(s.intermediate, s.root)
}

// OtherRootPEM is the Sigstore's intermediate followed by another CA's root: a chain that does
// not end at the root that issued it.
func (s *Sigstore) OtherRootPEM() ([]byte, error) {
	other, _, _, _, err := fulcio()
	if err != nil {
		return nil, err
	}
	return pemOf(s.intermediate, other), nil
}

func pemOf(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
