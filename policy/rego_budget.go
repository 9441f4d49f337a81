package policy

import (
	"errors"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// RegoLimits bound the Rego a policy set compiles. OPA keeps about 40 bytes of heap per byte of
// source (docs/performance.md), and anyone who may write an ImagePolicy writes Rego, so without
// them a tenant could apply enough Rego to exhaust the process's memory. Identical modules are
// prepared once (regoCache), so the namespace and total limits count each distinct module once.
type RegoLimits struct {
	// PerPolicy is the Rego one policy may carry: its module and its attestations' together.
	PerPolicy int64
	// PerNamespace is the distinct Rego the ImagePolicies of one namespace may carry together.
	PerNamespace int64
	// Total is the distinct Rego of every policy together, ClusterImagePolicies first.
	Total int64
}

// DefaultRegoLimits keep the compiled Rego of every policy near 160 MiB of heap at most, well
// inside the chart's 512 MiB limit with the caches and the Rego evaluation governor.
func DefaultRegoLimits() RegoLimits {
	return RegoLimits{PerPolicy: 128 << 10, PerNamespace: 512 << 10, Total: 4 << 20}
}

// regoBudget charges each policy's Rego, in the order Compile meets the policies, against the
// limits. What is over a limit is refused before it is parsed.
type regoBudget struct {
	limits RegoLimits
	seen   map[string]bool            // distinct modules charged to the total
	nsSeen map[string]map[string]bool // distinct modules charged to each namespace
	total  int64
	ns     map[string]int64
}

func newRegoBudget(l RegoLimits) *regoBudget {
	d := DefaultRegoLimits()
	if l.PerPolicy <= 0 {
		l.PerPolicy = d.PerPolicy
	}
	if l.PerNamespace <= 0 {
		l.PerNamespace = d.PerNamespace
	}
	if l.Total <= 0 {
		l.Total = d.Total
	}
	return &regoBudget{limits: l, seen: map[string]bool{}, nsSeen: map[string]map[string]bool{}, ns: map[string]int64{}}
}

// regoSources are the Rego modules of spec.
func regoSources(spec *v1alpha1.ImagePolicySpec) []string {
	var out []string
	if spec.Rego != "" {
		out = append(out, spec.Rego)
	}
	for _, a := range spec.Authorities {
		for _, at := range a.Attestations {
			if at.Rego != "" {
				out = append(out, at.Rego)
			}
		}
	}
	return out
}

// charge admits the Rego of a policy in namespace ns ("" for a ClusterImagePolicy), or says
// which limit it would pass. A refused policy is charged nothing.
func (b *regoBudget) charge(ns string, spec *v1alpha1.ImagePolicySpec) error {
	srcs := regoSources(spec)
	var own, added, nsAdded int64
	fresh, nsFresh := map[string]bool{}, map[string]bool{}
	for _, s := range srcs {
		n := int64(len(s))
		own += n
		if !b.seen[s] && !fresh[s] {
			fresh[s], added = true, added+n
		}
		if ns != "" && !b.nsSeen[ns][s] && !nsFresh[s] {
			nsFresh[s], nsAdded = true, nsAdded+n
		}
	}
	switch {
	case own > b.limits.PerPolicy:
		return fmt.Errorf("its Rego is %d bytes, over the limit of %d per policy (--max-rego-policy-bytes)", own, b.limits.PerPolicy)
	case ns != "" && b.ns[ns]+nsAdded > b.limits.PerNamespace:
		return fmt.Errorf("with it the ImagePolicies of namespace %s would carry %d bytes of Rego, over the limit of %d per namespace (--max-rego-namespace-bytes); older policies keep theirs", ns, b.ns[ns]+nsAdded, b.limits.PerNamespace)
	case b.total+added > b.limits.Total:
		return fmt.Errorf("with it the policies would carry %d bytes of Rego in all, over the limit of %d (--max-rego-total-bytes); ClusterImagePolicies and older ImagePolicies keep theirs", b.total+added, b.limits.Total)
	}
	for s := range fresh {
		b.seen[s] = true
	}
	if ns != "" {
		if b.nsSeen[ns] == nil {
			b.nsSeen[ns] = map[string]bool{}
		}
		for s := range nsFresh {
			b.nsSeen[ns][s] = true
		}
		b.ns[ns] += nsAdded
	}
	b.total += added
	return nil
}

// withoutRego is spec with its Rego removed, for a policy whose Rego was refused: it still
// compiles (and carries the refusal as its error), so it denies what it covers.
func withoutRego(spec *v1alpha1.ImagePolicySpec) *v1alpha1.ImagePolicySpec {
	out := spec.DeepCopy()
	out.Rego = ""
	for i := range out.Authorities {
		for j := range out.Authorities[i].Attestations {
			out.Authorities[i].Attestations[j].Rego = ""
		}
	}
	return out
}

// chargeRego charges every policy's Rego against the limits, ClusterImagePolicies first and
// then ImagePolicies, each oldest first: a new policy cannot push out one already in force. It
// returns why each refused policy was refused, by "namespace/name" ("/name" for a
// ClusterImagePolicy).
func (src Sources) chargeRego() map[string]error {
	type entry struct {
		id, ns string
		made   metav1.Time
		spec   *v1alpha1.ImagePolicySpec
	}
	var cluster, namespaced []entry
	for i := range src.ClusterPolicies {
		cp := &src.ClusterPolicies[i]
		cluster = append(cluster, entry{"/" + cp.Name, "", cp.CreationTimestamp, &cp.Spec})
	}
	for i := range src.Policies {
		ip := &src.Policies[i]
		namespaced = append(namespaced, entry{ip.Namespace + "/" + ip.Name, ip.Namespace, ip.CreationTimestamp, &ip.Spec})
	}
	b := newRegoBudget(src.RegoLimits)
	refused := map[string]error{}
	for _, es := range [][]entry{cluster, namespaced} {
		sort.SliceStable(es, func(i, j int) bool {
			if !es[i].made.Equal(&es[j].made) {
				return es[i].made.Before(&es[j].made)
			}
			return es[i].id < es[j].id
		})
		for _, e := range es {
			if err := b.charge(e.ns, e.spec); err != nil {
				refused[e.id] = err
			}
		}
	}
	return refused
}

// withinBudget is spec as it compiles: without its Rego when the budget refused it.
func withinBudget(spec *v1alpha1.ImagePolicySpec, refused error) (*v1alpha1.ImagePolicySpec, error) {
	if refused == nil {
		return spec, nil
	}
	return withoutRego(spec), fmt.Errorf("policy rego refused: %w", refused)
}

// refuse adds the budget's refusal to p's errors, so p denies what it covers.
func refuse(p *Policy, refused error) *Policy {
	if refused != nil {
		p.Err = errors.Join(refused, p.Err)
	}
	return p
}
