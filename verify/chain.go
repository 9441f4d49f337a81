package verify

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// checkChainAt refuses a keyless legacy signature unless its whole certificate chain was valid
// at each verified time the signature was made at. cosign v2.6.5 checks the chain at the leaf's
// own NotBefore and only the leaf at the signing time, so a leaf that outlives its expired
// intermediate passes (CVE-2026-24122, fixed in cosign v3.0.5 only). Sigstore bundles need no
// such check: sigstore-go checks the whole chain at each verified time.
func checkChainAt(sig oci.Signature, cert *x509.Certificate, co *cosign.CheckOpts) error {
	if cert == nil {
		return errors.New("no certificate on a keyless signature")
	}
	times, err := signedAt(sig, co)
	if err != nil {
		return err
	}
	leaf, err := leafCopy(cert)
	if err != nil {
		return err
	}
	for _, t := range times {
		if _, err := sgverify.VerifyLeafCertificate(t, leaf, co.TrustedMaterial); err != nil {
			return fmt.Errorf("its certificate chain was not valid when it was signed (%s): %s",
				t.UTC().Format(time.RFC3339), invalidAt(leaf, t, co.TrustedMaterial))
		}
	}
	return nil
}

// leafCopy parses cert afresh without the critical SAN extension Go cannot handle (an OtherName
// SAN), as cosign and sigstore-go drop it before they build a chain.
func leafCopy(cert *x509.Certificate) (*x509.Certificate, error) {
	leaf, err := x509.ParseCertificate(cert.Raw)
	if err != nil {
		return nil, fmt.Errorf("parsing its certificate: %w", err)
	}
	var unhandled []asn1.ObjectIdentifier
	for _, oid := range leaf.UnhandledCriticalExtensions {
		if !oid.Equal(cryptoutils.SANOID) {
			unhandled = append(unhandled, oid)
		}
	}
	leaf.UnhandledCriticalExtensions = unhandled
	return leaf, nil
}

// signedAt returns the verified times cosign checked the leaf certificate at: the signed
// timestamp's and the transparency log entry's, as the check options require each; now when
// neither is required.
func signedAt(sig oci.Signature, co *cosign.CheckOpts) ([]time.Time, error) {
	var times []time.Time
	if co.UseSignedTimestamps {
		ts, err := guard(func() (*timestamp.Timestamp, error) { return cosign.VerifyRFC3161Timestamp(sig, co) })
		if err != nil {
			return nil, fmt.Errorf("verifying its RFC 3161 timestamp: %w", err)
		}
		if ts != nil {
			times = append(times, ts.Time)
		}
	}
	if !co.IgnoreTlog {
		b, err := sig.Bundle()
		if err != nil {
			return nil, fmt.Errorf("reading its transparency log entry: %w", err)
		}
		if b != nil {
			times = append(times, time.Unix(b.Payload.IntegratedTime, 0))
		}
	}
	if len(times) == 0 {
		times = append(times, time.Now())
	}
	return times, nil
}

// invalidAt names the certificate of leaf's chain, as built when the leaf was issued, that was
// not valid at t.
func invalidAt(leaf *x509.Certificate, t time.Time, tm root.TrustedMaterial) string {
	chains, err := sgverify.VerifyLeafCertificate(leaf.NotBefore, leaf, tm)
	if err != nil || len(chains) == 0 {
		return "it chains to no trusted Fulcio CA"
	}
	chain := chains[0]
	for i, c := range chain {
		role := "intermediate CA"
		switch i {
		case 0:
			role = "leaf"
		case len(chain) - 1:
			role = "root CA"
		}
		if cn := c.Subject.CommonName; cn != "" {
			role += " " + strconv.Quote(cn)
		}
		switch {
		case t.After(c.NotAfter):
			return fmt.Sprintf("%s expired at %s", role, c.NotAfter.UTC().Format(time.RFC3339))
		case t.Before(c.NotBefore):
			return fmt.Sprintf("%s was not valid until %s", role, c.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	return "the trusted Fulcio CA was not valid then"
}

// explainLeafFailure says why sigstore-go refused a bundle's certificate when the chain was valid
// at the leaf's issuance: then a CA was not valid at the verified signing time.
func explainLeafFailure(err error, cert *x509.Certificate, tm root.TrustedMaterial) error {
	if cert == nil || !strings.Contains(err.Error(), "failed to verify leaf certificate") {
		return err
	}
	leaf, perr := leafCopy(cert)
	if perr != nil {
		return err
	}
	if _, cerr := sgverify.VerifyLeafCertificate(leaf.NotBefore, leaf, tm); cerr != nil {
		return err
	}
	return errors.New("its certificate chain was not valid when it was signed, though it was when the certificate was issued: an issuing CA had expired or was not yet valid")
}
