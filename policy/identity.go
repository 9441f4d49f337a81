package policy

import (
	"errors"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/verify"
)

// compileIdentity turns an API identity into verify's. An identity without an issuer is an
// error unless anyIssuer: only a bring-your-own CA's certificates may lack Fulcio's issuer.
func compileIdentity(id v1alpha1.Identity, anyIssuer bool) (verify.Identity, error) {
	vid := verify.Identity{Issuer: id.Issuer, Subject: id.Subject, IssuerRegExp: id.IssuerRegExp, SubjectRegExp: id.SubjectRegExp}
	if g := id.GitHub; g != nil {
		vid.GitHub = &verify.GitHubActions{Repository: g.Repository, Workflow: g.Workflow, Ref: g.Ref, SignerWorkflow: g.SignerWorkflow}
	}
	if err := vid.Validate(); err != nil {
		return vid, err
	}
	if vid.GitHub == nil && vid.Issuer == "" && vid.IssuerRegExp == "" && !anyIssuer {
		return vid, errors.New("an identity needs issuer or issuerRegExp; only a certificateAuthority's identities may leave the issuer out")
	}
	return vid, nil
}
