package verify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

const (
	github    = "https://token.actions.githubusercontent.com"
	workflow  = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"
	googleIdP = "https://accounts.google.com"
)

// TestKeyless verifies generated keyless signatures and attestations, in both formats, against
// an in-memory Sigstore: Fulcio chain, identity, SCT, and the Rekor SET or a timestamp.
func TestKeyless(t *testing.T) {
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	ci := verify.Identity{Issuer: github, SubjectRegExp: `^https://github\.com/org/repo/`}
	alice := verify.Identity{Issuer: googleIdP, Subject: "alice@example.com"}
	good := sigtest.Identity{Subject: workflow, Issuer: github}
	hourAgo := time.Now().Add(-time.Hour)

	tests := []struct {
		name    string
		signAs  sigtest.Identity
		want    []verify.Identity
		tlog    bool
		failure []string // any of these, as the two formats word it; none means verified
	}{
		{"valid, regexp subject", good, []verify.Identity{ci}, true, nil},
		{"valid, exact subject", sigtest.Identity{Subject: "alice@example.com", Issuer: googleIdP}, []verify.Identity{alice}, true, nil},
		{"one of several identities", good, []verify.Identity{alice, ci}, true, nil},
		{"wrong subject", sigtest.Identity{Subject: "mallory@example.com", Issuer: googleIdP}, []verify.Identity{alice}, true,
			[]string{`certificate subject mallory@example.com, issuer https://accounts.google.com; wanted subject "alice@example.com", issuer "https://accounts.google.com"`}},
		{"wrong issuer", sigtest.Identity{Subject: "alice@example.com", Issuer: "https://evil.example"}, []verify.Identity{alice}, true,
			[]string{`certificate subject alice@example.com, issuer https://evil.example; wanted subject "alice@example.com"`}},
		{"regexp mismatch", sigtest.Identity{Subject: "https://github.com/org/repository-evil/.github/workflows/x.yml@refs/heads/main", Issuer: github}, []verify.Identity{ci}, true,
			[]string{`issuer https://token.actions.githubusercontent.com; wanted subject matching "^https://github\\.com/org/repo/"`}},
		{"missing SCT", sigtest.Identity{Subject: workflow, Issuer: github, NoSCT: true}, []verify.Identity{ci}, true,
			[]string{"certificate does not include required embedded SCT", "failed to verify signed certificate timestamp"}},
		{"tampered SET", sigtest.Identity{Subject: workflow, Issuer: github, TamperSET: true}, []verify.Identity{ci}, true,
			[]string{"unable to verify SET", "one whose signed entry timestamp does not verify"}},
		{"untrusted CA", sigtest.Identity{Subject: workflow, Issuer: github, UntrustedCA: true}, []verify.Identity{ci}, true,
			[]string{"leaf certificate verification failed"}},
		{"logged after the certificate expired", sigtest.Identity{Subject: workflow, Issuer: github, At: hourAgo, LogAt: time.Now()}, []verify.Identity{ci}, true,
			[]string{"certificate expired before signatures were entered in log", "integrated time outside certificate validity"}},
		{"no log entry", sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true, Timestamp: true}, []verify.Identity{ci}, true,
			[]string{"no transparency log entry, and the authority requires one", "no transparency log entry verified by a log the trust root names"}},
		{"tlog ignored, timestamp given", sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true, Timestamp: true}, []verify.Identity{ci}, false, nil},
		{"tlog ignored, no timestamp", sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true}, []verify.Identity{ci}, false,
			[]string{"no signed timestamp from a trusted timestamp authority"}},
		{"tlog ignored, bogus timestamp", sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true, BogusTimestamp: true}, []verify.Identity{ci}, false,
			[]string{"timestamp"}},
		{"expired, no log time and no timestamp", sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true, At: hourAgo}, []verify.Identity{ci}, false,
			[]string{"expected a signed timestamp to verify an expired certificate", "no signed timestamp from a trusted timestamp authority"}},
	}
	for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
		for _, attest := range []bool{false, true} {
			for i, tt := range tests {
				kind := map[bool]string{false: "signature", true: "attestation"}[attest]
				t.Run(format+"/"+kind+"/"+tt.name, func(t *testing.T) {
					d := reg.PushRandom(t, "keyless/"+format+"-"+kind+":"+string(rune('a'+i)))
					signKeyless(t, ss, d, format, attest, tt.signAs)
					a := &verify.Authority{Name: "ci", Identities: tt.want, TrustedMaterial: ss.TrustedRoot, RequireTlog: tt.tlog}
					if attest {
						a.Attestations = []string{provenance}
					}
					checkKeyless(t, c, d, a, tt.failure, tt.signAs)
				})
			}
		}
	}
}

// signKeyless signs d as id, in format, with a signature or a provenance attestation.
func signKeyless(t *testing.T, ss *sigtest.Sigstore, d name.Digest, format string, attest bool, id sigtest.Identity) {
	t.Helper()
	var err error
	switch {
	case format == verify.FormatLegacy && !attest:
		err = ss.SignLegacy(d, id)
	case format == verify.FormatLegacy:
		err = ss.AttestLegacy(d, sigtest.Statement(t, d, provenance, map[string]any{"builder": "ci"}), id)
	case !attest:
		err = ss.SignBundle(d, id)
	default:
		err = ss.AttestBundle(d, provenance, sigtest.Statement(t, d, provenance, map[string]any{"builder": "ci"}), id)
	}
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
}

func checkKeyless(t *testing.T, c *verify.Client, d name.Digest, a *verify.Authority, failure []string, as sigtest.Identity) {
	t.Helper()
	res, err := session(t, c).Verify(d, a)
	if len(failure) > 0 {
		if !verify.IsFailure(err) || !containsAny(err.Error(), failure) {
			t.Fatalf("Verify = %v; want a failure saying one of %q", err, failure)
		}
		return
	}
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	signer := verify.Signer{}
	switch {
	case len(res.Signatures) > 0:
		signer = res.Signatures[0].Signer
	case len(res.Attestations) > 0:
		signer = res.Attestations[0].Signer
	}
	if signer.Subject != as.Subject || signer.Issuer != as.Issuer {
		t.Fatalf("verified signer %+v, want subject %s, issuer %s", signer, as.Subject, as.Issuer)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
