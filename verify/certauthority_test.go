package verify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestCertificateAuthority verifies signatures, in both formats, from an organization's own CA
// given as a PEM chain: with neither a log entry nor a timestamp the chain is checked at
// admission time, with a trusted timestamp at its time, and with a required log entry at the
// log's; a leaf from another CA, an expired leaf without a trusted time, and the wrong identity
// are refused.
func TestCertificateAuthority(t *testing.T) {
	corp, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	const subject = "build@corp.example"
	anyIssuer := verify.Identity{Subject: subject}
	withIssuer := verify.Identity{Subject: subject, Issuer: "https://sso.corp.example"}
	year := sigtest.Identity{Subject: subject, NoIssuer: true, NoSCT: true, NoTlog: true, Lifetime: 365 * 24 * time.Hour}
	expired := func(id sigtest.Identity) sigtest.Identity {
		id.At, id.Lifetime = time.Now().Add(-3*time.Minute), time.Minute
		return id
	}
	alone, err := verify.CertificateAuthorityMaterial(corp.ChainPEM(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// withTimes adds the Sigstore's timestamp authority and Rekor log, as a trustRootRef does.
	withTimes, err := verify.CertificateAuthorityMaterial(corp.ChainPEM(), corp.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		signAs   sigtest.Identity
		want     verify.Identity
		material root.TrustedMaterial
		tlog     bool
		failure  []string
	}{
		{"no issuer extension, checked at admission", year, anyIssuer, alone, false, nil},
		{"an issuer extension, matched", func() sigtest.Identity { id := year; id.NoIssuer, id.Issuer = false, withIssuer.Issuer; return id }(), withIssuer, alone, false, nil},
		{"no issuer extension where one is wanted", year, withIssuer, alone, false, []string{`wanted subject "build@corp.example", issuer "https://sso.corp.example"`}},
		{"another subject", func() sigtest.Identity { id := year; id.Subject = "mallory@corp.example"; return id }(), anyIssuer, alone, false,
			[]string{`certificate subject mallory@corp.example, issuer (none); wanted subject "build@corp.example", any issuer`}},
		{"expired at admission, no trusted time", expired(year), anyIssuer, alone, false,
			[]string{"), and leaf expired at"}}, // only the admission-time check says so
		{"a leaf from another CA", func() sigtest.Identity { id := year; id.UntrustedCA = true; return id }(), anyIssuer, alone, false,
			[]string{"certificate signed by unknown authority", "leaf certificate verification failed"}},
		{"a Fulcio leaf with an SCT, from another CA", sigtest.Identity{Subject: subject, Issuer: "https://sso.corp.example", UntrustedCA: true, NoTlog: true}, anyIssuer, alone, false,
			[]string{"certificate signed by unknown authority", "leaf certificate verification failed"}},
		{"a timestamp no authority here trusts", func() sigtest.Identity { id := expired(year); id.Timestamp = true; return id }(), anyIssuer, alone, false,
			[]string{"timestamp"}},
		{"expired now, valid at its trusted timestamp", func() sigtest.Identity { id := expired(year); id.Timestamp = true; return id }(), anyIssuer, withTimes, false, nil},
		{"expired now, valid when logged", func() sigtest.Identity { id := expired(year); id.NoTlog = false; return id }(), anyIssuer, withTimes, true, nil},
		{"log required, none", year, anyIssuer, withTimes, true, []string{"no transparency log entry, and the authority requires one", "no transparency log entry verified by a log the trust root names"}},
	}
	for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
		for _, attest := range []bool{false, true} {
			kind := map[bool]string{false: "signature", true: "attestation"}[attest]
			for i, tt := range tests {
				t.Run(format+"/"+kind+"/"+tt.name, func(t *testing.T) {
					d := reg.PushRandom(t, "ca/"+format+"-"+kind+":"+string(rune('a'+i)))
					signKeyless(t, corp, d, format, attest, tt.signAs)
					a := &verify.Authority{Name: "corp", Identities: []verify.Identity{tt.want}, TrustedMaterial: tt.material, RequireTlog: tt.tlog, AdmissionTime: true}
					if attest {
						a.Attestations = []string{provenance}
					}
					checkKeyless(t, c, d, a, tt.failure, tt.signAs)
				})
			}
		}
	}
}

// TestCertificateAuthorityChain refuses a chain that is not CA certificates, each signed by the
// next, ending at a self-signed root.
func TestCertificateAuthorityChain(t *testing.T) {
	corp, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, err := corp.OtherRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	chain := string(corp.ChainPEM())
	cut := strings.Index(chain[1:], "-----BEGIN") + 1
	intermediate, rootPEM := chain[:cut], chain[cut:]
	for _, tt := range []struct {
		name, pem, want string
	}{
		{"empty", "", "holds no certificate"},
		{"not PEM", "hello", "parsing the PEM certificate chain"},
		{"root first", rootPEM + intermediate, "is not signed by the next"},
		{"another root", string(otherRoot), "is not signed by the next"},
		{"no root", intermediate, "is not a self-signed root"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verify.CertificateAuthorityMaterial([]byte(tt.pem), nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CertificateAuthorityMaterial = %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if _, err := verify.CertificateAuthorityMaterial([]byte(rootPEM), nil); err != nil {
		t.Fatalf("a root alone: %v", err)
	}
}
