package verify

import (
	"crypto/x509"
	"errors"
	"regexp"
	"slices"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// errIdentity refuses a certificate that chains and signs, but for no identity wanted.
var errIdentity = errors.New("none of the expected identities matched")

// cosign is the issuer and subject cosign and sigstore-go check for i. A GitHub short form is
// narrowed to its issuer and github.com subjects there; its claims are checked by matches.
func (i Identity) cosign() cosign.Identity {
	if i.GitHub != nil {
		return cosign.Identity{Issuer: GitHubIssuer, SubjectRegExp: `^https://github\.com/`}
	}
	id := cosign.Identity{Issuer: i.Issuer, Subject: i.Subject, IssuerRegExp: i.IssuerRegExp, SubjectRegExp: i.SubjectRegExp}
	if id.Issuer == "" && id.IssuerRegExp == "" {
		id.IssuerRegExp = ".*" // sigstore-go needs an issuer criterion; this one matches none too
	}
	return id
}

// matches reports whether cert was issued to i, reading the issuer from Fulcio's extension
// (absent is empty) and the subject from the SANs.
func (i Identity) matches(cert *x509.Certificate) bool {
	if i.GitHub != nil {
		return i.GitHub.matches(cert)
	}
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		return false
	}
	return matchOne(i.Issuer, i.IssuerRegExp, ext.Issuer) &&
		slices.ContainsFunc(cryptoutils.GetSubjectAlternateNames(cert), func(san string) bool {
			return matchOne(i.Subject, i.SubjectRegExp, san)
		})
}

// matchOne matches got against an exact value or an expression; with neither, anything matches.
func matchOne(exact, expr, got string) bool {
	switch {
	case expr != "":
		re, err := regexp.Compile(expr)
		return err == nil && re.MatchString(got)
	case exact != "":
		return exact == got
	}
	return true
}

// accepts reports whether one of a's identities matches cert.
func (a *Authority) accepts(cert *x509.Certificate) bool {
	return cert != nil && slices.ContainsFunc(a.Identities, func(i Identity) bool { return i.matches(cert) })
}

// hasGitHub reports whether a wants a GitHub Actions short form, whose claims a deny shows.
func (a *Authority) hasGitHub() bool {
	return slices.ContainsFunc(a.Identities, func(i Identity) bool { return i.GitHub != nil })
}
