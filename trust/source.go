package trust

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Status says which root a Source holds and how fresh it is.
type Status struct {
	// Name is the built-in name or the TrustRoot's name.
	Name string
	// Root is the root in use; nil until one has been verified.
	Root *Root
	// TUFVersion is the version of the TUF root metadata that vouched for Root (0: embedded).
	TUFVersion int64
	// Expires is when the TUF metadata that vouched for Root expires (zero: embedded).
	Expires time.Time
	// Refreshed is when the repository last answered with verified metadata.
	Refreshed time.Time
	// Err is why the last refresh failed, or nil.
	Err error
}

// Expired reports whether the metadata vouching for the root had expired at now.
func (s Status) Expired(now time.Time) bool { return !s.Expires.IsZero() && now.After(s.Expires) }

// Stale reports whether the root can no longer be confirmed: the last refresh failed, or the
// metadata vouching for it expired. A stale root is still used; it is reported.
func (s Status) Stale(now time.Time) bool { return s.Err != nil || s.Expired(now) }

// Source is one trust root that TUF can update. It starts from what it has (embedded, cached
// or nothing), refreshes in the background, and only ever moves to a root at least as new.
type Source struct {
	name     string
	repo     *tufRepo // nil: no repository to ask (a built-in root offline)
	builtin  bool
	origin   Origin
	interval time.Duration
	onChange func()
	log      logr.Logger

	// refreshing serializes refreshes: the repository client keeps state between them.
	refreshing sync.Mutex
	mu         sync.Mutex
	status     Status
	// health is the freshness last reported to onChange.
	health string
	cancel context.CancelFunc
}

// Health names a status's freshness: ok, failing (the last refresh failed) or expired.
func (s Status) Health(now time.Time) string {
	switch {
	case s.Expired(now):
		return "expired"
	case s.Err != nil:
		return "failing"
	}
	return "ok"
}

// offer makes r the current root unless it is older than the one held.
func (s *Source) offer(r *Root, res *fetchResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.olderThan(s.status.Root) {
		return fmt.Errorf("rollback refused: trusted root sha256:%s (newest key from %s) is older than the one in use, sha256:%s (%s)",
			r.SHA256, r.Newest.Format(time.DateOnly), s.status.Root.SHA256, s.status.Root.Newest.Format(time.DateOnly))
	}
	s.status.Root = r
	s.status.TUFVersion, s.status.Expires = 0, time.Time{} // an embedded root: no TUF metadata
	if res != nil {
		s.status.TUFVersion, s.status.Expires = res.versions.root, res.expires
	}
	return nil
}

// Refresh asks the repository once, and keeps what it verified if it is not older than the
// root held. On failure the root held stays in use, and Status says why.
func (s *Source) Refresh() error {
	if s.repo == nil {
		return nil
	}
	s.refreshing.Lock()
	defer s.refreshing.Unlock()
	before := s.Status()
	res, err := s.repo.fetch(false, s.origin == OriginRepository)
	var r *Root
	if err == nil {
		r, err = parseRoot(res.doc, s.origin)
	}
	if err == nil {
		err = s.offer(r, res)
	}
	s.mu.Lock()
	s.status.Err = err
	if err == nil {
		s.status.Refreshed = time.Now()
	}
	after := s.status
	s.mu.Unlock()
	s.report(before, after)
	return err
}

// report logs a change of root or freshness, and tells onChange.
func (s *Source) report(before, after Status) {
	changedRoot := before.Root == nil && after.Root != nil || before.Root != nil && after.Root != nil && before.Root.SHA256 != after.Root.SHA256
	health := after.Health(time.Now())
	s.mu.Lock()
	changedHealth := s.health != health
	s.health = health
	s.mu.Unlock()
	switch {
	case changedRoot:
		s.log.Info("trust root updated", "trustRoot", s.name, "sha256", after.Root.SHA256, "tufVersion", after.TUFVersion, "expires", after.Expires)
	case after.Err != nil && after.Root != nil:
		s.log.Info("trust root stale: keeping the last verified root", "trustRoot", s.name, "sha256", after.Root.SHA256, "expires", after.Expires, "error", after.Err.Error())
	case after.Err != nil:
		s.log.Info("trust root not verified yet", "trustRoot", s.name, "error", after.Err.Error())
	}
	if (changedRoot || changedHealth) && s.onChange != nil {
		s.onChange()
	}
}

// Status returns what the source holds now.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// run refreshes at once unless a refresh was already tried, then every interval (sooner while
// it has no root) until ctx ends.
func (s *Source) run(ctx context.Context) {
	if st := s.Status(); !st.Refreshed.IsZero() || st.Err != nil {
		if !s.sleep(ctx) {
			return
		}
	}
	for {
		_ = s.Refresh() // Status carries the error
		if !s.sleep(ctx) {
			return
		}
	}
}

// sleep waits until the next refresh is due; false means ctx ended.
func (s *Source) sleep(ctx context.Context) bool {
	wait := s.interval
	if s.Status().Root == nil && wait > 30*time.Second {
		wait = 30 * time.Second
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
		return true
	}
}
