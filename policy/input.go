package policy

import (
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/portcullis-dev/portcullis/verify"
)

// regoBase holds the parts of policy-level Rego input that are the same for every image of a
// request, converted to Rego values once and only if some policy has rules.
type regoBase struct {
	items func() ([][2]*ast.Term, error)
}

func newRegoBase(req *Request) *regoBase {
	return &regoBase{items: sync.OnceValues(func() ([][2]*ast.Term, error) {
		doc := map[string]any{
			"namespace": req.Namespace,
			"object":    req.Object,
			"operation": req.Operation,
			"userInfo":  req.UserInfo,
		}
		var items [][2]*ast.Term
		for k, v := range doc {
			val, err := toValue(v)
			if err != nil {
				return nil, err
			}
			items = append(items, ast.Item(ast.StringTerm(k), ast.NewTerm(val)))
		}
		return items, nil
	})}
}

// policyInput is input for policy-level rules: the image, what was verified, and the request.
func (b *regoBase) policyInput(img *Image, digest name.Digest, o *outcome) (ast.Value, error) {
	base, err := b.items()
	if err != nil {
		return nil, err
	}
	sigs := make([]map[string]any, 0, len(o.signers))
	for _, s := range o.signers {
		sigs = append(sigs, map[string]any{"authority": s.Authority, "subject": s.Subject, "issuer": s.Issuer, "keyId": s.KeyID})
	}
	rest, err := toValue(map[string]any{
		"image":        imageDoc(img, digest, true),
		"signatures":   sigs,
		"attestations": o.attestations,
	})
	if err != nil {
		return nil, err
	}
	obj := rest.(ast.Object)
	for _, it := range base {
		obj.Insert(it[0], it[1])
	}
	return obj, nil
}

// attestationInput is input for attestation-level rules. Its image has no tag: the verdict is
// cached by digest, and a tag is not something a signer vouched for.
func attestationInput(a verify.Attestation, digest name.Digest) (ast.Value, error) {
	var pred any
	if err := util.UnmarshalJSON(a.Predicate, &pred); err != nil {
		return nil, err
	}
	return toValue(map[string]any{
		"predicate":     pred,
		"predicateType": a.PredicateType,
		"image":         imageDoc(nil, digest, false),
	})
}

// imageDoc is input.image. registry, repository and canonical are the canonical spelling
// (ParseImage), which rules should compare; reference is the image as written in the object
// (policy-level rules) and written holds its registry and repository as written.
func imageDoc(img *Image, digest name.Digest, withTag bool) map[string]any {
	doc := map[string]any{
		"registry":   digest.Context().RegistryStr(),
		"repository": digest.Context().RepositoryStr(),
		"digest":     digest.DigestStr(),
		"reference":  digest.String(),
		"canonical":  digest.String(),
	}
	if withTag && img != nil {
		reg, repo := img.Written()
		doc["reference"], doc["tag"], doc["canonical"] = img.Raw, img.Tag, img.Canonical
		doc["written"] = map[string]any{"registry": reg, "repository": repo}
	}
	return doc
}

// toValue converts a Go value to a Rego value through JSON, as OPA's own input handling does.
func toValue(v any) (ast.Value, error) {
	if err := util.RoundTrip(&v); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(v)
}
