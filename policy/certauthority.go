package policy

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/verify"
)

// compileCertificateAuthority makes an organization's own CA va's only certificate authority,
// keeping the timestamp authorities and Rekor logs of the trustRootRef, if any, and checking at
// admission time what has neither a signed timestamp nor a required log entry.
func compileCertificateAuthority(va *verify.Authority, k *v1alpha1.KeylessAuthority) error {
	var base root.TrustedMaterial
	if k.TrustRootRef != "" {
		base = va.TrustedMaterial
	} else if va.RequireTlog {
		return errors.New("a certificateAuthority without a trustRootRef has no transparency log to require: set tlog: ignore, or a trustRootRef whose Rekor logs and timestamp authorities to use")
	}
	tm, err := verify.CertificateAuthorityMaterial([]byte(k.CertificateAuthority.CertificateChain), base)
	if err != nil {
		return fmt.Errorf("certificateAuthority: %w", err)
	}
	va.TrustedMaterial, va.AdmissionTime = tm, true
	return nil
}
