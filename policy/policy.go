package policy

import (
	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/verify"
)

// The kinds a policy comes from.
const (
	KindCluster    = "ClusterImagePolicy"
	KindNamespaced = "ImagePolicy"
)

// Policy is one compiled ClusterImagePolicy or ImagePolicy. It never changes once compiled.
type Policy struct {
	Kind      string
	Name      string
	Namespace string // empty for a ClusterImagePolicy
	Mode      v1alpha1.Mode
	// MutateDigest asks the mutating webhook to pin tags to digests.
	MutateDigest bool
	// Err is why the policy could not be compiled. A policy with Err denies every image it
	// covers (in its mode), with Err as the reason.
	Err error
	// Warnings are what in the policy is probably a mistake (Lint). They never change what
	// it enforces.
	Warnings []string

	threshold   int
	globs       []glob
	authorities []authority
	rules       *rules
	key         string // identifies this compiled form in the verdict cache
	order       int    // position in the Set, for stable output
}

// authority is one compiled authority: static, or verified by package verify.
type authority struct {
	name         string
	static       *v1alpha1.StaticAuthority
	verify       *verify.Authority
	attestations []attestation
}

// attestation is one required attestation with its optional predicate-level rules.
type attestation struct {
	name          string
	predicateType string // full URI
	rules         *rules
}

// ID names the policy as users write it: name, or namespace/name for an ImagePolicy.
func (p *Policy) ID() string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

// Covers reports whether the policy's globs match the normalized repository.
func (p *Policy) covers(repo string) bool {
	for _, g := range p.globs {
		if g.match(repo) {
			return true
		}
	}
	return false
}
