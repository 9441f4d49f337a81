package sigtest

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
)

// Claims are the Fulcio certificate extensions of a CI workflow's run, each added when set: the
// newer ones as DER UTF8Strings, the deprecated GitHub ones (1.3.6.1.4.1.57264.1.2–.6) as raw
// bytes, as Fulcio writes them.
type Claims struct {
	SourceRepositoryURI, SourceRepositoryRef, BuildConfigURI, BuildSignerURI string
	// DeprecatedRepository and DeprecatedRef are the GitHub Workflow Repository (.5) and Ref (.6).
	DeprecatedRepository, DeprecatedRef string
}

// GitHubRun is the identity Fulcio gives a GitHub Actions run of workflow in repo (owner/name)
// at ref, signing with signer (owner/name/path@ref; the caller itself when empty).
func GitHubRun(repo, workflow, ref, signer string) Identity {
	caller := "https://github.com/" + repo + "/" + workflow + "@" + ref
	signerURI := caller
	if signer != "" {
		signerURI = "https://github.com/" + signer
	}
	return Identity{Subject: signerURI, Issuer: "https://token.actions.githubusercontent.com", Claims: Claims{
		SourceRepositoryURI: "https://github.com/" + repo, SourceRepositoryRef: ref,
		BuildConfigURI: caller, BuildSignerURI: signerURI,
	}}
}

// DeprecatedOnly keeps only the deprecated GitHub extensions of c.
func (c Claims) DeprecatedOnly() Claims {
	return Claims{DeprecatedRepository: strings.TrimPrefix(c.SourceRepositoryURI, "https://github.com/"), DeprecatedRef: c.SourceRepositoryRef}
}

func (c Claims) extensions(exts []pkix.Extension) ([]pkix.Extension, error) {
	oid := func(n int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n} }
	for _, f := range []struct {
		n int
		v string
	}{{12, c.SourceRepositoryURI}, {14, c.SourceRepositoryRef}, {18, c.BuildConfigURI}, {9, c.BuildSignerURI}} {
		if f.v == "" {
			continue
		}
		der, err := asn1.MarshalWithParams(f.v, "utf8")
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: oid(f.n), Value: der})
	}
	for _, f := range []struct {
		n int
		v string
	}{{5, c.DeprecatedRepository}, {6, c.DeprecatedRef}} {
		if f.v != "" {
			exts = append(exts, pkix.Extension{Id: oid(f.n), Value: []byte(f.v)})
		}
	}
	return exts, nil
}
