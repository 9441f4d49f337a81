package verify

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

// Verify checks the signatures or, when the authority names attestations, the attestations of
// digest d against authority a. It returns a *Failure when nothing the authority trusts vouches
// for d, and another error when the registry could not be read.
func (s *Session) Verify(d name.Digest, a *Authority) (*Result, error) {
	if (a.Key == nil) == (len(a.Identities) == 0) {
		return nil, fmt.Errorf("authority %s: needs a key or keyless identities, not both", a.Name)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("authority %s: %w", a.Name, err)
	}
	if len(a.Attestations) > 0 {
		return s.verifyAttestations(d, h, a)
	}
	return s.verifySignatures(d, h, a)
}

// verifySignatures looks for one signature by a over d: first among the legacy `.sig` layers,
// then, only if none verified, among the Sigstore bundles attached as referrers.
func (s *Session) verifySignatures(d name.Digest, h v1.Hash, a *Authority) (*Result, error) {
	co, err := checkOpts(a, cosign.SimpleClaimVerifier)
	if err != nil {
		return nil, err
	}
	legacy, err := s.legacy(d, a.SignatureRepository, "sig")
	if err != nil {
		return nil, err
	}
	var t tally
	t.unreadable(legacy.unreadable)
	res := &Result{}
	for _, sig := range legacy.layers {
		t.found++
		signer, err := s.verifyLegacy(sig, h, co, a, cosign.VerifyImageSignature)
		if err != nil {
			t.reject(err)
			continue
		}
		res.Signatures = append(res.Signatures, Signature{Signer: signer, Format: FormatLegacy})
	}
	if len(res.Signatures) > 0 {
		return res, nil
	}
	bs, err := s.referrerBundles(d, a.SignatureRepository)
	if err != nil {
		return nil, err
	}
	t.notes = append(t.notes, bs.unreadable...)
	for _, b := range bs.bundles {
		if !isSignatureBundle(b) {
			continue
		}
		t.found++
		_, signer, err := verifyBundleAs(co.TrustedMaterial, h, b, a)
		if err != nil {
			t.reject(err)
			continue
		}
		res.Signatures = append(res.Signatures, Signature{Signer: signer, Format: FormatBundle})
	}
	if len(res.Signatures) == 0 {
		return nil, &Failure{Reason: t.reason("no signature verified by "+a.describe(), "signature"), Hint: a.signHint()}
	}
	return res, nil
}

// checkOpts is cosign's view of authority a, checking each payload's claims with claim.
func checkOpts(a *Authority, claim func(oci.Signature, v1.Hash, map[string]any) error) (*cosign.CheckOpts, error) {
	tm, err := a.trustedMaterial()
	if err != nil {
		return nil, fmt.Errorf("authority %s: %w", a.Name, err)
	}
	co := &cosign.CheckOpts{
		IgnoreTlog:      !a.RequireTlog,
		TrustedMaterial: tm,
		Offline:         true,
		ClaimVerifier:   claim,
	}
	if a.Key != nil {
		co.SigVerifier = a.Key.verifier
		return co, nil
	}
	// Keyless: the certificate is checked at the time the log recorded, or, when the log is
	// not required, at the time a trusted timestamp authority signed.
	co.UseSignedTimestamps = !a.RequireTlog
	// A root without CT logs (GitHub's instance, an organization's own CA) has no SCTs to require.
	co.IgnoreSCT = !requiresSCT(tm)
	for _, id := range a.Identities {
		co.Identities = append(co.Identities, id.cosign())
	}
	return co, nil
}
