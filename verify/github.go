package verify

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions on github.com.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

const githubURL = "https://github.com/"

// GitHubActions is a GitHub Actions workflow run on github.com, matched exactly against the
// claims Fulcio copies into a certificate's extensions (the newer ones, 1.3.6.1.4.1.57264.1.8
// and up). Fields left empty match anything, except Repository, which is required.
type GitHubActions struct {
	// Repository is owner/name; the Source Repository URI (.12) must be https://github.com/<it>.
	Repository string
	// Workflow is the path of the workflow that ran, read from the Build Config URI (.18):
	// https://github.com/<repository>/<workflow>@<ref>.
	Workflow string
	// Ref is the Source Repository Ref (.14).
	Ref string
	// SignerWorkflow is the Build Signer URI (.9) without https://github.com/ and its @ref.
	SignerWorkflow string
}

// String renders the wanted workflow as deny messages show it.
func (g GitHubActions) String() string {
	s := "GitHub Actions repository " + g.Repository
	for _, f := range [][2]string{{"workflow", g.Workflow}, {"ref", g.Ref}, {"signer workflow", g.SignerWorkflow}} {
		if f[1] != "" {
			s += ", " + f[0] + " " + f[1]
		}
	}
	return s
}

// workflowClaims reads what a certificate says of the GitHub Actions run that got it, in the
// short form's terms; ok is false when it carries no Source Repository URI on github.com.
func workflowClaims(cert *x509.Certificate) (GitHubActions, bool) {
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil || !strings.HasPrefix(ext.SourceRepositoryURI, githubURL) {
		return GitHubActions{}, false
	}
	g := GitHubActions{Repository: strings.TrimPrefix(ext.SourceRepositoryURI, githubURL), Ref: ext.SourceRepositoryRef}
	if rest, ok := strings.CutPrefix(ext.BuildConfigURI, ext.SourceRepositoryURI+"/"); ok {
		g.Workflow, _, _ = strings.Cut(rest, "@")
	}
	if rest, ok := strings.CutPrefix(ext.BuildSignerURI, githubURL); ok {
		g.SignerWorkflow, _, _ = strings.Cut(rest, "@")
	}
	return g, true
}

// matches reports whether cert was issued to a run of g: by GitHub Actions, with each claim g
// names equal to it. A claim g names that the certificate lacks never matches.
func (g GitHubActions) matches(cert *x509.Certificate) bool {
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil || ext.Issuer != GitHubIssuer {
		return false
	}
	got, ok := workflowClaims(cert)
	if !ok || got.Repository != g.Repository || got.Workflow == "" {
		return false
	}
	return (g.Workflow == "" || got.Workflow == g.Workflow) &&
		(g.Ref == "" || got.Ref == g.Ref) &&
		(g.SignerWorkflow == "" || got.SignerWorkflow == g.SignerWorkflow)
}

// Validate refuses a short form without an owner/name repository.
func (g GitHubActions) Validate() error {
	owner, name, ok := strings.Cut(g.Repository, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("github repository %q is not owner/name", g.Repository)
	}
	return nil
}

// workflowWho says who cert was issued to in the short form's terms: the GitHub Actions run and
// the issuer, or, when it carries no claims on github.com, its subject and why.
func workflowWho(cert *x509.Certificate, s Signer) string {
	if got, ok := workflowClaims(cert); ok {
		return "certificate of " + got.String() + ", issuer " + s.Issuer
	}
	why := "no GitHub Actions workflow extensions"
	if ext, err := certificate.ParseExtensions(cert.Extensions); err == nil && ext.SourceRepositoryURI != "" {
		why = "source repository " + ext.SourceRepositoryURI + ", not on github.com"
	}
	return fmt.Sprintf("certificate subject %s, issuer %s (%s)", s.Subject, s.Issuer, why)
}
