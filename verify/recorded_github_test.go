package verify_test

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestRecordedGitHubPrivate verifies a real SLSA provenance attestation that GitHub Actions
// made for a private repository (test/testdata/sigstore/github): signed by GitHub's Fulcio,
// timestamped by GitHub's TSA, with no transparency log entry and no SCT. With GitHub's root
// (no CT log) and tlog: ignore it verifies; it is refused when the log is required, under
// another identity, and against the public-good root.
func TestRecordedGitHubPrivate(t *testing.T) {
	const dir = "../test/testdata/sigstore/github"
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	repo := reg.Ref(t, "github/nes-java-test-lib-a:1").Context()
	// The attestation names ten release files; one of them, a jar, stands for the image.
	jar, err := v1.NewHash("sha256:caa015ef69e9bc31a41322d6c71563ed9600c75bb988e4d639b1edc578580551")
	if err != nil {
		t.Fatal(err)
	}
	sigtest.AttachToDigest(t, repo, jar, readFile(t, dir+"/private-no-tlog-attestation.sigstore.json"))
	d := repo.Digest(jar.String())
	githubRoot := parseRoot(t, dir+"/trusted_root.json")
	publicGood, err := verify.PublicGood()
	if err != nil {
		t.Fatal(err)
	}
	attest := verify.Identity{Issuer: "https://token.actions.githubusercontent.com",
		Subject: "https://github.com/neverendingsupport/slsa-attestations/.github/workflows/attest.yml@9f6d9dc1bfc02986955721eb15f89ad618f1cedb"}
	other := attest
	other.Subject = "https://github.com/neverendingsupport/slsa-attestations/.github/workflows/other.yml@refs/heads/main"
	for _, tt := range []struct {
		name    string
		id      verify.Identity
		tm      string
		tlog    bool
		failure string // empty means verified
	}{
		{"GitHub's root, tlog ignored", attest, "github", false, ""},
		{"GitHub's root, tlog required", attest, "github", true, "no transparency log entry verified by a log the trust root names"},
		{"another workflow", other, "github", false, `wanted subject "` + other.Subject + `"`},
		{"public-good root", attest, "public-good", false, "no signed timestamp from a trusted timestamp authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &verify.Authority{Name: "github", Identities: []verify.Identity{tt.id}, TrustedMaterial: githubRoot, RequireTlog: tt.tlog, Attestations: []string{provenance}}
			if tt.tm == "public-good" {
				a.TrustedMaterial = publicGood
			}
			res, err := session(t, c).Verify(d, a)
			if tt.failure == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if s := res.Attestations[0].Signer; s.Subject != attest.Subject || s.Issuer != attest.Issuer {
					t.Fatalf("signer %+v", s)
				}
				return
			}
			if !verify.IsFailure(err) || !strings.Contains(err.Error(), tt.failure) {
				t.Fatalf("Verify = %+v, %v; want a failure saying %q", res, err, tt.failure)
			}
		})
	}
}
