package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// legacyCheck is cosign's check of one legacy layer: a signature or an attestation.
type legacyCheck func(context.Context, oci.Signature, v1.Hash, *cosign.CheckOpts) (bool, error)

// verifyLegacy verifies one legacy layer against a and says who signed it.
func (s *Session) verifyLegacy(sig oci.Signature, h v1.Hash, co *cosign.CheckOpts, a *Authority, check legacyCheck) (Signer, error) {
	cert, _ := sig.Cert()
	if err := legacyAtAdmission(sig, cert, a, co.TrustedMaterial); err != nil {
		return Signer{}, rejection(cert, a, err)
	}
	if _, err := guard(func() (bool, error) { return check(s.ctx, sig, h, co) }); err != nil {
		var p *panicked
		if ts, _ := sig.RFC3161Timestamp(); errors.As(err, &p) && ts != nil {
			err = fmt.Errorf("its RFC 3161 timestamp does not verify against the trusted timestamp authorities (%w)", err)
		}
		return Signer{}, rejection(cert, a, err)
	}
	if a.Key != nil {
		return Signer{KeyID: a.Key.ID}, nil
	}
	if !a.RequireTlog {
		// cosign accepts a certificate still valid now without a timestamp; we want one, unless
		// the authority checks at admission time.
		if ts, err := sig.RFC3161Timestamp(); err != nil || ts == nil {
			if !a.AdmissionTime {
				return Signer{}, rejection(cert, a, errors.New("no signed timestamp from a trusted timestamp authority, and the authority ignores the transparency log (tlog: ignore)"))
			}
		}
	}
	if err := checkChainAt(sig, cert, co); err != nil {
		return Signer{}, rejection(cert, a, err)
	}
	if !a.accepts(cert) {
		return Signer{}, rejection(cert, a, errIdentity)
	}
	return certSigner(cert), nil
}

// verifyBundleAs verifies a bundle against a, whose trusted material is tm.
func verifyBundleAs(tm root.TrustedMaterial, h v1.Hash, b *sgbundle.Bundle, a *Authority) (*sgverify.VerificationResult, Signer, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, Signer{}, fmt.Errorf("reading its verification material: %w", err)
	}
	cert := vc.Certificate()
	if a.Key == nil && cert == nil {
		// sigstore-go would look the key up in tm and, finding none, name only a validity window.
		return nil, Signer{}, errors.New("signed with a public key, not a Fulcio certificate: a keyless authority trusts no public key material")
	}
	now := atAdmissionTime(b, a)
	if now && cert != nil {
		if err := atAdmission(cert, tm); err != nil {
			return nil, Signer{}, rejection(cert, a, err)
		}
	}
	res, err := verifyBundle(a, tm, h, b, now)
	if err != nil {
		return nil, Signer{}, rejection(cert, a, explainLeafFailure(explainBundle(err, b), cert, tm))
	}
	if a.Key != nil {
		return res, Signer{KeyID: a.Key.ID}, nil
	}
	if !a.accepts(cert) { // the whole identity: a GitHub short form's claims, not just its SAN
		return nil, Signer{}, rejection(cert, a, errIdentity)
	}
	return res, summarySigner(res), nil
}

// rejection explains why a keyless signature was refused: whose certificate it carries, and
// either the identities wanted or what else failed.
func rejection(cert *x509.Certificate, a *Authority, err error) error {
	if a.Key != nil || cert == nil {
		return err
	}
	s := certSigner(cert)
	if s.Issuer == "" {
		s.Issuer = "(none)"
	}
	who := fmt.Sprintf("certificate subject %s, issuer %s", s.Subject, s.Issuer)
	if a.hasGitHub() {
		who = workflowWho(cert, s)
	}
	msg := err.Error()
	if errors.Is(err, errIdentity) || strings.Contains(msg, errIdentity.Error()) || strings.Contains(msg, "CertificateIdentity") {
		if a.hasGitHub() { // the wanted workflows are in the reason's head, and long
			return fmt.Errorf("%s: not a wanted identity", who)
		}
		return fmt.Errorf("%s; %s", who, wanted(a.Identities))
	}
	return fmt.Errorf("%s: %s", who, explain(oneLine(msg)))
}

func certSigner(cert *x509.Certificate) Signer {
	if cert == nil {
		return Signer{}
	}
	return Signer{Subject: strings.Join(cryptoutils.GetSubjectAlternateNames(cert), ","), Issuer: (&cosign.CertExtensions{Cert: cert}).GetIssuer()}
}

func summarySigner(res *sgverify.VerificationResult) Signer {
	if res.Signature == nil || res.Signature.Certificate == nil {
		return Signer{}
	}
	c := res.Signature.Certificate
	return Signer{Subject: c.SubjectAlternativeName, Issuer: c.Issuer}
}

// describe names the authority as messages do.
func (a *Authority) describe() string {
	if a.Key != nil {
		return "key " + a.Name
	}
	return "keyless authority " + a.Name + " (" + wanted(a.Identities) + ")"
}

func (a *Authority) signHint() string {
	if a.Key != nil {
		return "sign the image digest with the key of authority " + a.Name + " (cosign sign --key)"
	}
	return "sign the image digest with cosign sign from a workload whose identity authority " + a.Name + " accepts"
}
