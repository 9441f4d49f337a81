package verify

import (
	"encoding/hex"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// bundleVerifier is sigstore-go's verifier of a's bundles against tm. It is built here rather
// than by cosign v2's VerifyNewBundle, whose options demand a Rekor v1 integrated time when the
// log is required: a Rekor v2 entry records no time, so its time must come from a trusted
// timestamp authority instead. now checks a certificate at the current time, for a bundle that
// a checks at admission time (atAdmissionTime).
func bundleVerifier(a *Authority, tm root.TrustedMaterial, now bool) (*sgverify.Verifier, error) {
	var opts []sgverify.VerifierOption
	if a.Key != nil {
		tm = &keyMaterial{TrustedMaterial: tm, key: root.NewExpiringKey(a.Key.verifier, time.Time{}, time.Time{})}
	} else if requiresSCT(tm) {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	switch {
	case a.RequireTlog:
		// A verified entry, and a verified time: a Rekor v1 entry's signed integrated time, or
		// an RFC 3161 timestamp (the only time a Rekor v2 entry can have).
		opts = append(opts, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	case a.Key != nil:
		opts = append(opts, sgverify.WithNoObserverTimestamps())
	case now:
		opts = append(opts, sgverify.WithCurrentTime())
	default:
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	}
	v, err := sgverify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, fmt.Errorf("authority %s: %w", a.Name, err)
	}
	return v, nil
}

// requiresSCT says whether certificates must carry a signed certificate timestamp: only when
// the trust root names CT logs to check it against. GitHub's instance, for one, has none.
func requiresSCT(tm root.TrustedMaterial) bool { return len(tm.CTLogs()) > 0 }

// bundlePolicy is what one of a's bundles must be about (digest h) and who must have signed
// it: a's key, or a certificate matching one of a's identities.
func bundlePolicy(a *Authority, h v1.Hash) (sgverify.PolicyBuilder, error) {
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return sgverify.PolicyBuilder{}, fmt.Errorf("decoding digest %s: %w", h, err)
	}
	artifact := sgverify.WithArtifactDigest(h.Algorithm, digest)
	if a.Key != nil {
		return sgverify.NewPolicy(artifact, sgverify.WithKey()), nil
	}
	opts := make([]sgverify.PolicyOption, 0, len(a.Identities))
	for _, id := range a.Identities {
		c := id.cosign() // a GitHub short form's issuer and SAN; accepts checks the rest after
		ci, err := sgverify.NewShortCertificateIdentity(c.Issuer, c.IssuerRegExp, c.Subject, c.SubjectRegExp)
		if err != nil {
			return sgverify.PolicyBuilder{}, fmt.Errorf("authority %s: identity %s: %w", a.Name, id, err)
		}
		opts = append(opts, sgverify.WithCertificateIdentity(ci))
	}
	return sgverify.NewPolicy(artifact, opts...), nil
}

// keyMaterial is trusted material whose only public key is the authority's: whatever key a
// bundle names (its hint is the signer's to choose), it is verified with this one.
type keyMaterial struct {
	root.TrustedMaterial
	key root.TimeConstrainedVerifier
}

var _ root.TrustedMaterial = (*keyMaterial)(nil)

func (k *keyMaterial) PublicKeyVerifier(string) (root.TimeConstrainedVerifier, error) {
	return k.key, nil
}
