package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/time/rate"

	"github.com/portcullis-dev/portcullis/internal/cache"
)

// Client reaches registries and keeps what they answered. It is safe for concurrent use; one
// Client serves a whole process.
type Client struct {
	o         options
	transport *registryTransport
	digests   *cache.Cache[name.Digest]
	sigs      *cache.Cache[*legacySet]
	bundles   *cache.Cache[*bundleSet]
}

// New returns a Client.
func New(opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("configuring registry client: %w", err)
		}
	}
	return &Client{
		o: o,
		transport: &registryTransport{insecure: o.insecure, observe: o.observe, limit: &limitTransport{
			next: newInflightTransport(o.transport, o.limits.InFlight, o.limits.PerRegistry), max: o.maxResponseBytes}},
		digests: cache.New[name.Digest](o.cacheSize, o.digestTTL, 0),
		sigs:    cache.New[*legacySet](o.cacheSize, o.materialTTL, 0),
		bundles: cache.New[*bundleSet](o.cacheSize, o.materialTTL, 0),
	}, nil
}

// Session is the registry access of one caller, such as one admission request or one CLI run:
// its context, its credentials, and the registry tokens they earned, reused across images.
type Session struct {
	c         *Client
	ctx       context.Context
	kc        authn.Keychain
	transport http.RoundTripper
	// puller is made on the first registry request: a session answered from the caches costs
	// nothing.
	puller func() (*remote.Puller, error)
	// creds holds the credential ID of each registry this session has resolved (CredentialID).
	credMu sync.Mutex
	creds  map[string]string
}

// Session starts a session with the given credentials; nil means the Client's default keychain.
// The context bounds every registry request the session makes; limit, when not nil, paces
// them (the auditor's own budget).
func (c *Client) Session(ctx context.Context, kc authn.Keychain, limit *rate.Limiter) *Session {
	if kc == nil {
		kc = c.o.keychain
	}
	var transport http.RoundTripper = &budgetTransport{next: c.transport, max: c.o.limits.AdmissionBytes}
	if limit != nil {
		transport = &pacedTransport{next: transport, limit: limit}
	}
	return &Session{c: c, ctx: ctx, kc: kc, transport: transport, puller: sync.OnceValues(func() (*remote.Puller, error) {
		p, err := remote.NewPuller(c.remoteOptions(ctx, kc, transport)...)
		if err != nil {
			return nil, fmt.Errorf("starting registry session: %w", err)
		}
		return p, nil
	})}
}

func (c *Client) remoteOptions(ctx context.Context, kc authn.Keychain, transport http.RoundTripper) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(transport),
		remote.WithUserAgent(c.o.userAgent),
		// One session serves every image of a request in parallel: do not queue their blobs
		// behind go-containerregistry's default of 4 concurrent pulls.
		remote.WithJobs(32),
		// Retry transient faults quickly: the caller's deadline, not the backoff, bounds the wait.
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}),
	}
}

// cached looks key up in c with this session's context, saying what the lookup was for when
// the session's deadline ends the wait. The key is this session's credentials for reg, then
// key: what one credential resolved is never another's answer.
func cached[V any](s *Session, c *cache.Cache[V], reg name.Registry, what, key string, fill func() (V, bool, error)) (V, error) {
	key, err := s.credentialKey(reg, key)
	if err != nil {
		var zero V
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	v, err := c.Get(s.ctx, key, fill)
	if errors.Is(err, cache.ErrGaveUp) {
		err = s.registryError(what, err)
	}
	return v, err
}

// registryError wraps err from a registry call, saying plainly when the deadline ran out.
func (s *Session) registryError(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: the registry did not answer before the deadline: %w", what, err)
	}
	if errors.Is(s.ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: canceled: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// remote returns the options for one call in this session.
func (s *Session) remote() []remote.Option {
	if p, err := s.puller(); err == nil {
		return []remote.Option{remote.Reuse(p), remote.WithContext(s.ctx)}
	}
	// The same options, unshared: the call itself reports what is wrong with them.
	return s.c.remoteOptions(s.ctx, s.kc, s.transport)
}

// CacheStats reports hits and misses of the digest cache and the signature material caches.
func (c *Client) CacheStats() (digestHits, digestMisses, materialHits, materialMisses uint64) {
	digestHits, digestMisses = c.digests.Stats()
	sh, sm := c.sigs.Stats()
	bh, bm := c.bundles.Stats()
	return digestHits, digestMisses, sh + bh, sm + bm
}
