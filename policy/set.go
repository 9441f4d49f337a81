package policy

import (
	"sort"

	"github.com/portcullis-dev/portcullis/trust"
)

// Set is an immutable, indexed set of compiled policies.
type Set struct {
	all        []*Policy
	cluster    *index
	namespaced map[string]*index
	rootErrs   map[string]error
	rootStatus map[string]trust.Status
	// clusterHosts are the registries some ClusterImagePolicy glob names literally.
	clusterHosts map[string]bool
}

// index finds the policies whose globs may match a repository: globs with a literal registry
// are filed under it, the rest are tried for every image.
type index struct {
	byHost map[string][]*Policy
	wild   []*Policy
}

func newSet() *Set {
	return &Set{cluster: newIndex(), namespaced: map[string]*index{}, rootErrs: map[string]error{}, rootStatus: map[string]trust.Status{}, clusterHosts: map[string]bool{}}
}

// NamesRegistry reports whether some ClusterImagePolicy glob names host (canonical, as
// verify.CanonicalRegistry writes it) literally. Metrics label registries by it, so their
// series grow with what administrators write, never with what an image names.
func (s *Set) NamesRegistry(host string) bool { return s.clusterHosts[host] }

// TrustRootErr returns why the named TrustRoot could not be used, or nil.
func (s *Set) TrustRootErr(name string) error { return s.rootErrs[name] }

// TrustRootStatus returns what the named TrustRoot's TUF repository gave, if it has one.
func (s *Set) TrustRootStatus(name string) (trust.Status, bool) {
	st, ok := s.rootStatus[name]
	return st, ok
}

func newIndex() *index { return &index{byHost: map[string][]*Policy{}} }

func (s *Set) add(p *Policy) {
	p.order = len(s.all)
	s.all = append(s.all, p)
	ix := s.cluster
	if p.Kind == KindNamespaced {
		if ix = s.namespaced[p.Namespace]; ix == nil {
			ix = newIndex()
			s.namespaced[p.Namespace] = ix
		}
	}
	if p.Kind == KindCluster {
		for _, g := range p.globs {
			if g.host != "" {
				s.clusterHosts[g.host] = true
			}
		}
	}
	hosts := map[string]bool{}
	for _, g := range p.globs {
		if g.host == "" {
			ix.wild = append(ix.wild, p)
			return
		}
		hosts[g.host] = true
	}
	for h := range hosts {
		ix.byHost[h] = append(ix.byHost[h], p)
	}
}

// Policies returns every policy, cluster policies first, each group sorted by name.
func (s *Set) Policies() []*Policy { return s.all }

// Match returns the policies that apply to img in namespace: every matching
// ClusterImagePolicy and every matching ImagePolicy of that namespace, in Set order. covered
// reports whether a ClusterImagePolicy matched: whether an image is covered, and so whether
// noMatch applies, is for cluster policies alone to say, since an ImagePolicy can only add
// requirements.
func (s *Set) Match(namespace string, img *Image) (pols []*Policy, covered bool) {
	pols = s.cluster.match(img, nil)
	covered = len(pols) > 0
	if ix := s.namespaced[namespace]; ix != nil && namespace != "" {
		pols = ix.match(img, pols)
	}
	sort.Slice(pols, func(i, j int) bool { return pols[i].order < pols[j].order })
	return pols, covered
}

func (ix *index) match(img *Image, out []*Policy) []*Policy {
	for _, group := range [][]*Policy{ix.byHost[img.Registry], ix.wild} {
		for _, p := range group {
			if p.covers(img.Repo) && !contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func contains(ps []*Policy, p *Policy) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}
