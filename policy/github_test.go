package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/internal/tooltest"
	"github.com/portcullis-dev/portcullis/policy"
)

// TestGitHubIdentityPolicy: a policy's github short form admits what the named workflow signed
// and denies a fork's signature, naming both in the short form's terms; a short form mixed with
// an issuer, or an identity without an issuer outside a certificateAuthority, does not compile.
func TestGitHubIdentityPolicy(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	const build, main = ".github/workflows/build.yml", "refs/heads/main"
	ours, fork := reg.PushRandom(t, "team/app:1"), reg.PushRandom(t, "team/app:2")
	if err := ss.SignBundle(ours, sigtest.GitHubRun("org/repo", build, main, "")); err != nil {
		t.Fatal(err)
	}
	if err := ss.SignLegacy(fork, sigtest.GitHubRun("org/repo-fork", build, main, "")); err != nil {
		t.Fatal(err)
	}
	gh := v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "org/repo", Workflow: build, Ref: main}}
	roots := []v1alpha1.TrustRoot{trustRoot("corp", 1, ss.TrustedRootJSON)}
	e := engine(t, policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("gh", spec(reg.Host+"/team/**", keyless("ci", "corp", "", gh)))}, TrustRoots: roots})
	if dec := decide(t, e, "team", reg.Host+"/team/app:1"); !dec.Allowed {
		t.Fatalf("the named workflow's signature was denied: %q", dec.Denials())
	}
	dec := decide(t, e, "team", reg.Host+"/team/app:2")
	denial := strings.Join(dec.Denials(), "\n")
	for _, want := range []string{"wanted GitHub Actions repository org/repo, workflow .github/workflows/build.yml, ref refs/heads/main",
		"certificate of GitHub Actions repository org/repo-fork, workflow .github/workflows/build.yml, ref refs/heads/main"} {
		if dec.Allowed || !strings.Contains(denial, want) {
			t.Fatalf("a fork's signature: allowed %v, %q; want a denial saying %q", dec.Allowed, denial, want)
		}
	}

	// GitHub's own instance (no CT logs, no Rekor log, a timestamp authority) is the short
	// form's target with tlog: ignore.
	githubRoot, err := os.ReadFile(filepath.Join(tooltest.Root(t), "test/testdata/sigstore/github/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	onGitHub := policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("gh", spec(reg.Host+"/team/**", keyless("ci", "github-root", v1alpha1.TlogIgnore, gh)))},
		TrustRoots: []v1alpha1.TrustRoot{trustRoot("github-root", 1, githubRoot)}}
	if err := policy.Compile(onGitHub).Policies()[0].Err; err != nil {
		t.Fatalf("the short form on GitHub's trusted root with tlog: ignore: %v", err)
	}
	if dec := decide(t, engine(t, onGitHub), "team", reg.Host+"/team/app:1"); dec.Allowed {
		t.Fatal("a signature from another Fulcio was allowed on GitHub's trusted root")
	}

	withIssuer := gh
	withIssuer.Issuer = "https://token.actions.githubusercontent.com"
	for _, tt := range []struct {
		name string
		id   v1alpha1.Identity
		want string
	}{
		{"github and an issuer", withIssuer, "a github identity sets the issuer and subject itself"},
		{"github repository without an owner", v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "repo"}}, `github repository "repo" is not owner/name`},
		{"no issuer", v1alpha1.Identity{Subject: "build@example.com"}, "only a certificateAuthority's identities may leave the issuer out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := policy.Sources{ClusterPolicies: []v1alpha1.ClusterImagePolicy{cip("gh", spec(reg.Host+"/team/**", keyless("ci", "corp", "", tt.id)))}, TrustRoots: roots}
			if err := policy.Compile(src).Policies()[0].Err; err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compile error %v, want %q", err, tt.want)
			}
			if dec := decide(t, engine(t, src), "team", reg.Host+"/team/app:1"); dec.Allowed {
				t.Fatal("a policy that does not compile allowed an image it covers")
			}
		})
	}
}
