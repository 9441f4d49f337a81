package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/cosign/v2/pkg/oci"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// maxChainCertificates bounds a bring-your-own CA chain: a root and a few intermediates.
const maxChainCertificates = 10

// CertificateAuthorityMaterial is the trusted material of an organization's own certificate
// authority: chainPEM (the issuing CA first, the root last) as the only CA, and no CT log, since
// such certificates embed no SCTs. The timestamp authorities and transparency logs are base's,
// or none when base is nil. A leaf must chain to the root through these certificates alone:
// the chain a signature carries is never trusted.
func CertificateAuthorityMaterial(chainPEM []byte, base root.TrustedMaterial) (*root.TrustedRoot, error) {
	chain, err := cryptoutils.UnmarshalCertificatesFromPEMLimited(chainPEM, maxChainCertificates)
	if err != nil {
		return nil, fmt.Errorf("parsing the PEM certificate chain: %w", err)
	}
	if err := checkChainOrder(chain); err != nil {
		return nil, err
	}
	ca := &root.FulcioCertificateAuthority{Root: chain[len(chain)-1], Intermediates: chain[:len(chain)-1]}
	var tsas []root.TimestampingAuthority
	var tlogs map[string]*root.TransparencyLog
	if base != nil {
		tsas, tlogs = base.TimestampingAuthorities(), base.RekorLogs()
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{ca}, nil, tsas, tlogs)
}

// checkChainOrder requires CA certificates, each signed by the next, ending at a self-signed
// root.
func checkChainOrder(chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("the certificate chain holds no certificate")
	}
	for i, c := range chain {
		if !c.BasicConstraintsValid || !c.IsCA {
			return fmt.Errorf("certificate %d of the chain (%q) is not a CA certificate: give the issuing CA and its root, not a leaf", i+1, c.Subject.CommonName)
		}
		parent := c
		if i+1 < len(chain) {
			parent = chain[i+1]
		}
		if err := c.CheckSignatureFrom(parent); err != nil {
			if parent == c {
				return fmt.Errorf("the chain's last certificate (%q) is not a self-signed root: give the chain root last (%v)", c.Subject.CommonName, err)
			}
			return fmt.Errorf("certificate %d of the chain (%q) is not signed by the next (%q): give the issuing CA first and the root last (%v)",
				i+1, c.Subject.CommonName, parent.Subject.CommonName, err)
		}
	}
	return nil
}

// atAdmissionTime says whether a checks b's certificate at admission time: b carries no signed
// timestamp, a needs no log entry, and a checks at admission time (an organization's own CA).
func atAdmissionTime(b *sgbundle.Bundle, a *Authority) bool {
	if !a.AdmissionTime || a.RequireTlog || a.Key != nil {
		return false
	}
	ts, err := b.Timestamps()
	return err == nil && len(ts) == 0
}

// atAdmission refuses a certificate checked at admission time whose chain, valid when the
// leaf was issued, is not valid now, naming the certificate that expired. Other failures are
// left to the full check to explain.
func atAdmission(cert *x509.Certificate, tm root.TrustedMaterial) error {
	leaf, err := leafCopy(cert)
	if err != nil {
		return err
	}
	now := time.Now()
	if _, err := sgverify.VerifyLeafCertificate(leaf.NotBefore, leaf, tm); err != nil {
		return nil
	}
	if _, err := sgverify.VerifyLeafCertificate(now, leaf, tm); err == nil {
		return nil
	}
	return fmt.Errorf("with neither a signed timestamp nor a required log entry, its certificate chain is checked at admission time (%s), and %s",
		now.UTC().Format(time.RFC3339), invalidAt(leaf, now, tm))
}

// legacyAtAdmission is atAdmission for a legacy layer that a checks at admission time: one
// without a signed timestamp, when the authority needs no log entry.
func legacyAtAdmission(sig oci.Signature, cert *x509.Certificate, a *Authority, tm root.TrustedMaterial) error {
	if cert == nil || !a.AdmissionTime || a.RequireTlog || a.Key != nil {
		return nil
	}
	if ts, err := sig.RFC3161Timestamp(); err != nil || ts != nil {
		return nil // the timestamp is checked, and its time used, by cosign
	}
	return atAdmission(cert, tm)
}
