package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
)

// TestCertificateAuthorityPolicy: keyless.certificateAuthority admits what the organization's
// CA issued to a wanted identity, checked at admission time, and denies a leaf of another CA;
// a chain that does not parse or order, or a log required of a CA without one, does not compile.
func TestCertificateAuthorityPolicy(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	corp, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := reg.PushRandom(t, "team/app:1"), reg.PushRandom(t, "team/app:2")
	build := sigtest.Identity{Subject: "build@corp.example", NoIssuer: true, NoSCT: true, NoTlog: true, Lifetime: 30 * 24 * time.Hour}
	if err := corp.SignBundle(ours, build); err != nil {
		t.Fatal(err)
	}
	other := build
	other.UntrustedCA = true
	if err := corp.SignLegacy(theirs, other); err != nil {
		t.Fatal(err)
	}
	byo := func(chain string, tlog v1alpha1.TlogPolicy) v1alpha1.Authority {
		a := keyless("corp", "", tlog, v1alpha1.Identity{Subject: "build@corp.example"})
		a.Keyless.CertificateAuthority = &v1alpha1.CertificateAuthority{CertificateChain: chain}
		return a
	}
	src := func(a v1alpha1.Authority) policy.Sources {
		return policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("corp", spec(reg.Host+"/team/**", a))}}
	}
	e := engine(t, src(byo(string(corp.ChainPEM()), v1alpha1.TlogIgnore)))
	if dec := decide(t, e, "team", reg.Host+"/team/app:1"); !dec.Allowed {
		t.Fatalf("the organization's own signature was denied: %q", dec.Denials())
	}
	if dec := decide(t, e, "team", reg.Host+"/team/app:2"); dec.Allowed || !strings.Contains(strings.Join(dec.Denials(), "\n"), `no signature verified by keyless authority corp (wanted subject "build@corp.example", any issuer)`) {
		t.Fatalf("another CA's leaf: allowed %v, %q", dec.Allowed, dec.Denials())
	}

	otherRoot, err := corp.OtherRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		auth v1alpha1.Authority
		want string
	}{
		{"a log required of a CA without one", byo(string(corp.ChainPEM()), ""), "a certificateAuthority without a trustRootRef has no transparency log to require"},
		{"not PEM", byo("hello", v1alpha1.TlogIgnore), "certificateAuthority: parsing the PEM certificate chain"},
		{"a chain ending at another root", byo(string(otherRoot), v1alpha1.TlogIgnore), "certificateAuthority: certificate 1 of the chain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := policy.Compile(src(tt.auth)).Policies()[0].Err; err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compile error %v, want %q", err, tt.want)
			}
			if dec := decide(t, engine(t, src(tt.auth)), "team", reg.Host+"/team/app:1"); dec.Allowed {
				t.Fatal("a policy that does not compile allowed an image it covers")
			}
		})
	}
}
