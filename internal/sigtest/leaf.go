package sigtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
)

// Fulcio's OIDC issuer extension, and RFC 6962's embedded SCT list extension.
var (
	oidOIDCIssuer = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidSCTList    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
)

// Identity is who a keyless signature is made as, and how.
type Identity struct {
	// Subject is an email address or a URI (a CI workflow), as Fulcio puts in the SAN.
	Subject, Issuer string
	// At is when the certificate is issued and, unless LogAt is set, when the signature is
	// logged and timestamped. The zero value is now.
	At    time.Time
	LogAt time.Time
	// NoSCT leaves the SCT out of the certificate.
	NoSCT bool
	// UntrustedCA issues the certificate from a CA the trusted root does not name.
	UntrustedCA bool
	// NoTlog makes no Rekor entry; TamperSET corrupts the entry's signed timestamp.
	NoTlog, TamperSET bool
	// RekorV2 logs a bundle in the Rekor v2 log instead, forged as Forgery says.
	RekorV2 bool
	Forgery Forgery
	// Timestamp adds an RFC 3161 timestamp from the Sigstore's timestamp authority;
	// BogusTimestamp adds one over other bytes.
	Timestamp, BogusTimestamp bool
	// Claims are the Fulcio extensions a CI workflow's certificate carries.
	Claims Claims
	// Lifetime is how long the certificate is valid; the zero value is Fulcio's 10 minutes.
	Lifetime time.Duration
	// NoIssuer leaves out the OIDC issuer extension, as a certificate from an organization's
	// own CA may.
	NoIssuer bool
}

func (id Identity) at() time.Time {
	if id.At.IsZero() {
		return time.Now()
	}
	return id.At
}

func (id Identity) logAt() time.Time {
	if id.LogAt.IsZero() {
		return id.at()
	}
	return id.LogAt
}

// leaf issues a 10-minute code-signing certificate for id, with an embedded SCT from the
// Sigstore's CT log unless id.NoSCT or it has none, and returns it with its key and its chain (intermediate,
// root).
func (s *Sigstore) leaf(id Identity) (*x509.Certificate, *ecdsa.PrivateKey, []*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	issuer, issuerKey, chain := s.intermediate, s.intermediateKey, []*x509.Certificate{s.intermediate, s.root}
	if id.UntrustedCA {
		var otherRoot *x509.Certificate
		if otherRoot, _, issuer, issuerKey, err = fulcio(); err != nil {
			return nil, nil, nil, err
		}
		chain = []*x509.Certificate{issuer, otherRoot}
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	lifetime := id.Lifetime
	if lifetime == 0 {
		lifetime = 10 * time.Minute
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    id.at().Add(-time.Second),
		NotAfter:     id.at().Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if !id.NoIssuer {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidOIDCIssuer, Value: []byte(id.Issuer)}}
	}
	if tmpl.ExtraExtensions, err = id.Claims.extensions(tmpl.ExtraExtensions); err != nil {
		return nil, nil, nil, err
	}
	if strings.Contains(id.Subject, "://") {
		u, err := url.Parse(id.Subject)
		if err != nil {
			return nil, nil, nil, err
		}
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{id.Subject}
	}
	if !id.NoSCT && !s.withoutLogs {
		// The SCT signs the certificate as it is without the SCT list: issue it once without,
		// then again with the list added last, which is what a verifier removes.
		pre, err := create(tmpl, issuer, &key.PublicKey, issuerKey)
		if err != nil {
			return nil, nil, nil, err
		}
		ext, err := s.sctList(pre.RawTBSCertificate, issuer, id.at())
		if err != nil {
			return nil, nil, nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
	}
	cert, err := create(tmpl, issuer, &key.PublicKey, issuerKey)
	return cert, key, chain, err
}

func create(tmpl, parent *x509.Certificate, pub, priv any) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sctList signs an SCT for the precertificate tbs and returns the extension that embeds it.
func (s *Sigstore) sctList(tbs []byte, issuer *x509.Certificate, at time.Time) (pkix.Extension, error) {
	der, err := x509.MarshalPKIXPublicKey(s.ctKey.Public())
	if err != nil {
		return pkix.Extension{}, err
	}
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: sha256.Sum256(der)}, Timestamp: uint64(at.UnixMilli())}
	leaf := ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType, TimestampedEntry: &ct.TimestampedEntry{
		EntryType: ct.PrecertLogEntryType, Timestamp: sct.Timestamp,
		PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(issuer.RawSubjectPublicKeyInfo), TBSCertificate: tbs},
	}}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: leaf})
	if err != nil {
		return pkix.Extension{}, err
	}
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, s.ctKey, digest[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	sct.Signature = ct.DigitallySigned{Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA}, Signature: sig}
	one, err := cttls.Marshal(sct)
	if err != nil {
		return pkix.Extension{}, err
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: one}}})
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(list)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("encoding the SCT list: %w", err)
	}
	return pkix.Extension{Id: oidSCTList, Value: value}, nil
}

// IssueLeaf issues a certificate for id as leaf does, and returns it, its chain (the issuing CA
// first, the root last) and its private key as PEM, for signing with the cosign CLI (cosign
// import-key-pair, cosign sign --certificate --certificate-chain).
func (s *Sigstore) IssueLeaf(id Identity) (certPEM, chainPEM, keyPEM []byte, err error) {
	cert, key, chain, err := s.leaf(id)
	if err != nil {
		return nil, nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pemOf(cert), pemOf(chain...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
