package trust

import "strings"

// Track starts recording which sources are asked for; Retain then stops the others.
func (r *Registry) Track() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.used = map[string]bool{}
}

// Retain stops and forgets the TrustRoot sources not asked for since Track: their TrustRoot
// was deleted or changed. Built-in roots are kept.
func (r *Registry) Retain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, s := range r.sources {
		if r.used != nil && !r.used[key] && strings.HasPrefix(key, "trustroot/") {
			if s.cancel != nil {
				s.cancel()
			}
			delete(r.sources, key)
		}
	}
	r.used = nil
}
