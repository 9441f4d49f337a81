package policy

import (
	"fmt"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// renewWithin is how soon before a bring-your-own CA certificate expires Lint says so.
const renewWithin = 30 * 24 * time.Hour

// lintCertificateAuthority warns about a certificate of a bring-your-own CA chain that has
// expired or soon will: signatures checked at admission time then fail. A chain that does not
// parse is a compile error, not a warning.
func lintCertificateAuthority(field string, k *v1alpha1.KeylessAuthority, now time.Time) []string {
	if k == nil || k.CertificateAuthority == nil {
		return nil
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(k.CertificateAuthority.CertificateChain))
	if err != nil {
		return nil
	}
	var out []string
	for i, c := range certs {
		at := c.NotAfter.UTC().Format(time.RFC3339)
		switch {
		case now.After(c.NotAfter):
			out = append(out, fmt.Sprintf("%scertificate %d of the chain (%q) expired at %s: signatures without a trusted timestamp or log entry "+
				"are checked at admission time and now fail; renew the CA and give its new chain", field, i+1, c.Subject.CommonName, at))
		case now.Add(renewWithin).After(c.NotAfter):
			out = append(out, fmt.Sprintf("%scertificate %d of the chain (%q) expires at %s: signatures without a trusted timestamp or log entry "+
				"are checked at admission time and will then fail; renew the CA and give its new chain", field, i+1, c.Subject.CommonName, at))
		}
	}
	return out
}
