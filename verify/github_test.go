package verify_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// TestGitHubShortForm verifies real signatures, in both formats, whose certificates carry
// Fulcio's GitHub Actions extensions, against the short form: every claim matches exactly, and
// a look-alike of any one is refused, saying what was wanted and what the certificate carried.
func TestGitHubShortForm(t *testing.T) {
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	const (
		build  = ".github/workflows/build.yml"
		main   = "refs/heads/main"
		shared = "org/shared/.github/workflows/sign.yml"
	)
	full := verify.GitHubActions{Repository: "org/repo", Workflow: build, Ref: main, SignerWorkflow: shared}
	good := sigtest.GitHubRun("org/repo", build, main, shared+"@refs/tags/v2.1.0")
	// modify returns good with one change.
	modify := func(f func(*sigtest.Identity)) sigtest.Identity {
		id := good
		f(&id)
		return id
	}
	tests := []struct {
		name   string
		signAs sigtest.Identity
		want   verify.GitHubActions
		// failure is "" when verified, else what the deny must say, besides wantFull.
		failure string
	}{
		{"every claim", good, full, ""},
		{"repository alone", good, verify.GitHubActions{Repository: "org/repo"}, ""},
		{"the caller's workflow, also when it calls a reusable one", good, verify.GitHubActions{Repository: "org/repo", Workflow: build}, ""},
		{"signer workflow without the caller", sigtest.GitHubRun("org/repo", build, main, ""), full,
			"certificate of GitHub Actions repository org/repo, workflow .github/workflows/build.yml, ref refs/heads/main, signer workflow org/repo/.github/workflows/build.yml, issuer"},
		{"a fork", sigtest.GitHubRun("org/repo-fork", build, main, shared+"@refs/tags/v2.1.0"), full, "certificate of GitHub Actions repository org/repo-fork,"},
		{"a repository the name is a prefix of", sigtest.GitHubRun("org/repository", build, main, shared+"@refs/tags/v2.1.0"), full, "certificate of GitHub Actions repository org/repository,"},
		{"another owner", sigtest.GitHubRun("evil/repo", build, main, shared+"@refs/tags/v2.1.0"), full, "certificate of GitHub Actions repository evil/repo,"},
		{"another host", modify(func(id *sigtest.Identity) {
			id.Claims.SourceRepositoryURI = "https://github.example.com/org/repo"
			id.Claims.BuildConfigURI = "https://github.example.com/org/repo/" + build + "@" + main
		}), full, "(source repository https://github.example.com/org/repo, not on github.com)"},
		{"a workflow the wanted one is a prefix of", sigtest.GitHubRun("org/repo", build+".evil", main, shared+"@refs/tags/v2.1.0"), full, "workflow .github/workflows/build.yml.evil,"},
		{"a workflow the wanted one is a suffix of", sigtest.GitHubRun("org/repo", ".github/workflows/evil/"+build, main, shared+"@refs/tags/v2.1.0"), full, "workflow .github/workflows/evil/.github/workflows/build.yml,"},
		{"the signer's path as the workflow", good, verify.GitHubActions{Repository: "org/repo", Workflow: ".github/workflows/sign.yml"},
			"certificate of GitHub Actions repository org/repo, workflow .github/workflows/build.yml,"},
		{"a ref the wanted one is a prefix of", sigtest.GitHubRun("org/repo", build, main+"-evil", shared+"@refs/tags/v2.1.0"), full, "ref refs/heads/main-evil,"},
		{"another signer workflow", sigtest.GitHubRun("org/repo", build, main, "org/evil/.github/workflows/sign.yml@refs/tags/v2.1.0"), full, "signer workflow org/evil/.github/workflows/sign.yml, issuer"},
		{"the right SAN and no extensions", modify(func(id *sigtest.Identity) { id.Claims = sigtest.Claims{} }), verify.GitHubActions{Repository: "org/repo"},
			"(no GitHub Actions workflow extensions)"},
		{"only the deprecated extensions", modify(func(id *sigtest.Identity) { id.Claims = id.Claims.DeprecatedOnly() }), verify.GitHubActions{Repository: "org/repo"},
			"(no GitHub Actions workflow extensions)"},
		{"another issuer", modify(func(id *sigtest.Identity) { id.Issuer = "https://evil.example" }), full, "certificate of GitHub Actions repository org/repo, workflow .github/workflows/build.yml, ref refs/heads/main, signer workflow org/shared/.github/workflows/sign.yml, issuer https://evil.example: not a wanted identity"},
	}
	for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
		for _, attest := range []bool{false, true} {
			kind := map[bool]string{false: "signature", true: "attestation"}[attest]
			for i, tt := range tests {
				t.Run(format+"/"+kind+"/"+tt.name, func(t *testing.T) {
					d := reg.PushRandom(t, "github/"+format+"-"+kind+":"+string(rune('a'+i)))
					signKeyless(t, ss, d, format, attest, tt.signAs)
					want := tt.want
					a := &verify.Authority{Name: "ci", Identities: []verify.Identity{{GitHub: &want}}, TrustedMaterial: ss.TrustedRoot, RequireTlog: true}
					if attest {
						a.Attestations = []string{provenance}
					}
					if tt.failure != "" {
						checkDeny(t, c, d, a, tt.failure, "wanted "+want.String())
						return
					}
					checkKeyless(t, c, d, a, nil, tt.signAs)
				})
			}
		}
	}
	if got := full.String(); got != "GitHub Actions repository org/repo, workflow .github/workflows/build.yml, ref refs/heads/main, signer workflow org/shared/.github/workflows/sign.yml" {
		t.Errorf("the short form reads %q in deny messages", got)
	}
}

// checkDeny requires Verify to fail saying each of subs.
func checkDeny(t *testing.T, c *verify.Client, d name.Digest, a *verify.Authority, subs ...string) {
	t.Helper()
	_, err := session(t, c).Verify(d, a)
	if !verify.IsFailure(err) {
		t.Fatalf("Verify = %v; want a failure", err)
	}
	t.Log(err)
	for _, s := range subs {
		if !containsAny(err.Error(), []string{s}) {
			t.Fatalf("Verify = %v; want it to say %q", err, s)
		}
	}
}

// TestGitHubShortFormWithoutLogs verifies the short form as GitHub's own Sigstore instance is
// used: a root with a Fulcio CA and a timestamp authority but no CT logs and no Rekor log
// (test/testdata/sigstore/github), certificates without SCTs, tlog: ignore.
func TestGitHubShortFormWithoutLogs(t *testing.T) {
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	tr := ss.TrustedRoot
	githubLike, err := root.NewTrustedRoot(root.TrustedRootMediaType01, tr.FulcioCertificateAuthorities(), nil, tr.TimestampingAuthorities(), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	run := func(repo string, timestamp bool) sigtest.Identity {
		id := sigtest.GitHubRun(repo, ".github/workflows/build.yml", "refs/heads/main", "")
		id.NoSCT, id.NoTlog, id.Timestamp = true, true, timestamp
		return id
	}
	want := verify.GitHubActions{Repository: "org/repo", Ref: "refs/heads/main"}
	for i, tt := range []struct {
		name    string
		signAs  sigtest.Identity
		failure []string
	}{
		{"timestamped", run("org/repo", true), nil},
		{"no timestamp", run("org/repo", false), []string{"no signed timestamp from a trusted timestamp authority", "threshold not met for verified signed timestamps"}},
		{"a fork, timestamped", run("org/repo-fork", true), []string{"certificate of GitHub Actions repository org/repo-fork,"}},
	} {
		for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				d := reg.PushRandom(t, "github-like/"+format+":"+string(rune('a'+i)))
				sign := ss.SignLegacy
				if format == verify.FormatBundle {
					sign = ss.SignBundle
				}
				if err := sign(d, tt.signAs); err != nil {
					t.Fatalf("signing: %v", err)
				}
				a := &verify.Authority{Name: "gh", Identities: []verify.Identity{{GitHub: &want}}, TrustedMaterial: githubLike}
				checkKeyless(t, c, d, a, tt.failure, tt.signAs)
			})
		}
	}
}
