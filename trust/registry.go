package trust

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Defaults of Options.
const (
	DefaultInterval = time.Hour
	DefaultTimeout  = 5 * time.Second
)

// Options configure a Registry.
type Options struct {
	// Offline keeps the built-in roots to their embedded snapshots (and the cache): no request
	// to their mirrors. TrustRoot repositories are asked as configured.
	Offline bool
	// PublicGoodMirror replaces the public-good TUF mirror (an internal copy).
	PublicGoodMirror string
	// PublicGoodRoot replaces the initial TUF root public-good starts from, for a mirror that
	// is not a copy of Sigstore's (a private Sigstore as the default).
	PublicGoodRoot []byte
	// CacheDir keeps TUF metadata and trusted roots on disk across restarts; empty keeps them
	// in memory only.
	CacheDir string
	// Interval is the time between refreshes.
	Interval time.Duration
	// Timeout bounds each request to a mirror.
	Timeout time.Duration
	// CAs are PEM certificates of private CAs that mirrors' TLS certificates may chain to,
	// besides the system's.
	CAs []byte
	// OnChange is called when a root or its freshness changes.
	OnChange func()
	Log      logr.Logger
}

// Registry holds every trust root in use: the built-in names and each TrustRoot's TUF source.
// Until Start, sources are refreshed only when first asked for (the CLI); after Start, in the
// background (the webhook), so no caller ever waits on a mirror.
type Registry struct {
	o Options

	mu      sync.Mutex
	ctx     context.Context
	sources map[string]*Source
	used    map[string]bool
}

// NewRegistry returns a Registry; its built-in roots start from their embedded snapshots.
func NewRegistry(o Options) *Registry {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PublicGoodMirror == "" {
		o.PublicGoodMirror = PublicGoodMirror
	}
	return &Registry{o: o, sources: map[string]*Source{}}
}

// certPool is the system's CAs and o.CAs, or nil (the default) when there are none.
func (o Options) certPool() (*x509.CertPool, error) {
	if len(o.CAs) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(o.CAs) {
		return nil, errors.New("the TUF mirror CA file holds no PEM certificate")
	}
	return pool, nil
}

// Start refreshes every source in the background until ctx ends, public-good from now on:
// it is the default root, and key authorities' log keys come from it.
func (r *Registry) Start(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	for _, s := range r.sources {
		r.run(s)
	}
	r.mu.Unlock()
	_, _, _ = r.Builtin(PublicGood) // its status carries any error
}

func (r *Registry) run(s *Source) {
	if r.ctx == nil || s.repo == nil || s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	s.cancel = cancel
	go s.run(ctx)
}

// Builtin returns the current root of a built-in name.
func (r *Registry) Builtin(name string) (*Root, Status, error) {
	b, ok := builtins()[name]
	if !ok {
		return nil, Status{}, fmt.Errorf("%q is not a built-in trust root (%s or %s)", name, PublicGood, GitHub)
	}
	mirror := b.mirror
	if name == PublicGood {
		mirror = r.o.PublicGoodMirror
		if r.o.PublicGoodRoot != nil {
			b.tufRoot = r.o.PublicGoodRoot
		}
	}
	return r.get("builtin/"+name, name, func() (*Source, error) {
		s, err := r.newSource(name, mirror, b.tufRoot, nil, r.o.Offline)
		if err != nil {
			return nil, err
		}
		s.builtin = true
		embedded, err := parseRoot(b.snapshot, OriginEmbedded)
		if err != nil {
			return nil, fmt.Errorf("embedded %s trusted root: %w", name, err)
		}
		_ = s.offer(embedded, nil) // only if newer than the cache
		return s, nil
	})
}

// TUF returns the current root of a TrustRoot's TUF repository: a mirror URL or a serialized
// repository (a gzipped tar), with its initial TUF root.
func (r *Registry) TUF(name, mirror string, initialRoot, repository []byte) (*Root, Status, error) {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(mirror), initialRoot, repository} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	key := "trustroot/" + name + "/" + hex.EncodeToString(h.Sum(nil))
	return r.get(key, name, func() (*Source, error) {
		if repository == nil {
			return r.newSource(name, mirror, initialRoot, nil, false)
		}
		files, err := ReadRepository(repository)
		if err != nil {
			return nil, err
		}
		return r.newSource(name, "", initialRoot, files, false)
	})
}

// get returns the source under key, making it on first use; a source without a root yet is
// refreshed at once when no background loop will do it.
func (r *Registry) get(key, name string, make func() (*Source, error)) (*Root, Status, error) {
	r.mu.Lock()
	s, ok := r.sources[key]
	if r.used != nil {
		r.used[key] = true
	}
	r.mu.Unlock()
	if !ok {
		made, err := make()
		if err != nil {
			return nil, Status{Name: name, Err: err}, err
		}
		r.mu.Lock()
		s, ok = r.sources[key]
		if !ok {
			s = made
			r.sources[key] = s
		}
		background := r.ctx != nil
		r.mu.Unlock()
		if !ok {
			// A built-in root has its snapshot and, in the webhook, refreshes in the background;
			// a TrustRoot has nothing until its repository is read, so it is read at once (each
			// request bounded by the timeout), and only a failure waits for the background.
			if s.repo != nil && (!background || s.origin == OriginRepository || !s.builtin) {
				_ = s.Refresh() // Status carries the error
			}
			r.mu.Lock()
			r.run(s)
			r.mu.Unlock()
		}
	}
	st := s.Status()
	if st.Root == nil {
		err := st.Err
		if err == nil {
			err = errors.New("not fetched yet")
		}
		return nil, st, fmt.Errorf("no verified trusted root yet: %w", err)
	}
	return st.Root, st, nil
}

var unsafePath = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// newSource makes the source of one repository (mirror, or files of a serialized one), seeded
// from the on-disk cache when there is one.
func (r *Registry) newSource(name, mirror string, initialRoot []byte, files map[string][]byte, offline bool) (*Source, error) {
	if _, err := parseTUFRoot(initialRoot); err != nil {
		return nil, fmt.Errorf("initial TUF root: %w", err)
	}
	s := &Source{name: name, origin: OriginMirror, interval: r.o.Interval, onChange: r.o.OnChange, log: r.o.Log, status: Status{Name: name}}
	repo := &tufRepo{base: mirror, tufRoot: initialRoot}
	switch {
	case files != nil:
		s.origin, repo.base = OriginRepository, "tuf-repository://"+name
		repo.fetcher = filesFetcher{base: repo.base, files: files}
	default:
		cas, err := r.o.certPool()
		if err != nil {
			return nil, err
		}
		repo.fetcher = newHTTPFetcher(r.o.Timeout, cas)
	}
	if r.o.CacheDir != "" && files == nil {
		repo.dir = filepath.Join(r.o.CacheDir, unsafePath.ReplaceAllString(name+"-"+mirror, "-"))
		r.seedFromCache(s, repo)
	}
	if !offline {
		s.repo = repo
	}
	return s, nil
}

// Statuses returns the status of every source, by name.
func (r *Registry) Statuses() []Status {
	r.mu.Lock()
	var out []Status
	for _, s := range r.sources {
		out = append(out, s.Status())
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Source returns the source a TrustRoot or built-in name was last asked for under, or nil.
func (r *Registry) Source(name string) *Source {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sources {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Current returns the root a built-in name holds now, never waiting on its mirror: before
// Start, that is the cached or embedded root.
func (r *Registry) Current(name string) (*Root, error) {
	r.mu.Lock()
	s := r.sources["builtin/"+name]
	r.mu.Unlock()
	if s == nil || s.Status().Root == nil {
		b, ok := builtins()[name]
		if !ok {
			return nil, fmt.Errorf("%q is not a built-in trust root", name)
		}
		return parseRoot(b.snapshot, OriginEmbedded)
	}
	return s.Status().Root, nil
}
