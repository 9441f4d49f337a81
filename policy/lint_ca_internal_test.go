package policy

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// TestLintCertificateAuthority: a bring-your-own CA chain whose certificates are far from
// expiry gets no warning; one expiring within 30 days, or expired, gets one per certificate,
// naming it and its date. Its certificates live ten hours (sigtest), so "now" is moved.
func TestLintCertificateAuthority(t *testing.T) {
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	chain := string(ss.ChainPEM())
	certs := parseChain(t, chain)
	k := &v1alpha1.KeylessAuthority{CertificateAuthority: &v1alpha1.CertificateAuthority{CertificateChain: chain}}
	const field = "spec.authorities[0].keyless.certificateAuthority: "
	at := func(i int) string { return certs[i].NotAfter.UTC().Format(time.RFC3339) }
	expiry := certs[0].NotAfter
	for _, tt := range []struct {
		name string
		now  time.Time
		want []string
	}{
		{"far from expiry", expiry.Add(-60 * 24 * time.Hour), nil},
		{"expiring", expiry.Add(-time.Hour), []string{
			field + `certificate 1 of the chain ("sigstore-intermediate") expires at ` + at(0) + ": signatures without a trusted timestamp or log entry are checked at admission time and will then fail; renew the CA and give its new chain",
			field + `certificate 2 of the chain ("sigstore") expires at ` + at(1) + ": signatures without a trusted timestamp or log entry are checked at admission time and will then fail; renew the CA and give its new chain",
		}},
		{"expired", expiry.Add(time.Hour), []string{
			field + `certificate 1 of the chain ("sigstore-intermediate") expired at ` + at(0) + ": signatures without a trusted timestamp or log entry are checked at admission time and now fail; renew the CA and give its new chain",
			field + `certificate 2 of the chain ("sigstore") expired at ` + at(1) + ": signatures without a trusted timestamp or log entry are checked at admission time and now fail; renew the CA and give its new chain",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lintCertificateAuthority(field, k, tt.now)); diff != "" {
				t.Errorf("warnings differ (-want +got):\n%s", diff)
			}
		})
	}
	if got := lintCertificateAuthority(field, &v1alpha1.KeylessAuthority{}, expiry.Add(time.Hour)); got != nil {
		t.Errorf("a keyless authority without a certificateAuthority gets %q", got)
	}
}

func parseChain(t *testing.T, chain string) []*x509.Certificate {
	t.Helper()
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(chain))
	if err != nil || len(certs) != 2 {
		t.Fatalf("parsing the chain: %d certificates, %v", len(certs), err)
	}
	return certs
}
