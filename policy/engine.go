package policy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-dev/portcullis/internal/cache"
	"github.com/portcullis-dev/portcullis/verify"
)

// NoMatch is what happens to an image that no ClusterImagePolicy covers.
type NoMatch string

// The noMatch actions.
const (
	NoMatchDeny  NoMatch = "deny"
	NoMatchWarn  NoMatch = "warn"
	NoMatchAllow NoMatch = "allow"
)

// ParseNoMatch parses deny, warn or allow.
func ParseNoMatch(s string) (NoMatch, error) {
	switch n := NoMatch(s); n {
	case NoMatchDeny, NoMatchWarn, NoMatchAllow:
		return n, nil
	}
	return "", fmt.Errorf("noMatch %q is not deny, warn or allow", s)
}

// Engine makes every verdict. It is safe for concurrent use.
type Engine struct {
	verifier    *verify.Client
	set         atomic.Pointer[Set]
	noMatch     NoMatch
	verdicts    *cache.Cache[*outcome]
	images      *cache.Cache[*Image] // parsed references: parsing is most of a warm admission
	parallelism int
	maxImages   int
	observe     func(*Policy, Result)
}

// EngineOption configures an Engine.
type EngineOption func(*engineOptions) error

type engineOptions struct {
	noMatch          NoMatch
	passTTL, failTTL time.Duration
	cacheSize        int
	cacheBytes       int64
	parallelism      int
	maxImages        int
	observe          func(*Policy, Result)
}

// DefaultVerdictCacheBytes bounds what the cached verdicts weigh, mostly their verified
// predicates, unless WithVerdictCacheBytes says otherwise.
const DefaultVerdictCacheBytes = 32 << 20

// WithVerdictCacheBytes bounds what the cached verdicts weigh (outcome.weight: their verified
// predicates, reasons and signers); the least recently used go first, and a verdict heavier
// than the bound alone is not cached.
func WithVerdictCacheBytes(n int64) EngineOption {
	return func(o *engineOptions) error {
		if n <= 0 {
			return errors.New("verdict cache bytes must be positive")
		}
		o.cacheBytes = n
		return nil
	}
}

// DefaultMaxImages is how many distinct images one request may name unless WithMaxImages says.
const DefaultMaxImages = 64

// WithMaxImages caps the distinct images one request may name; a request naming more is denied
// whole, before any registry is asked.
func WithMaxImages(n int) EngineOption {
	return func(o *engineOptions) error {
		if n <= 0 {
			return errors.New("max images must be positive")
		}
		o.maxImages = n
		return nil
	}
}

// WithNoMatch sets what happens to images no ClusterImagePolicy covers (default warn).
func WithNoMatch(n NoMatch) EngineOption {
	return func(o *engineOptions) error {
		_, err := ParseNoMatch(string(n))
		o.noMatch = n
		return err
	}
}

// WithVerdictTTL sets how long verdicts are cached: pass for passes, fail (shorter) for
// failures. Infrastructure errors are never cached.
func WithVerdictTTL(pass, fail time.Duration) EngineOption {
	return func(o *engineOptions) error {
		if pass <= 0 || fail < 0 {
			return errors.New("verdict TTLs must be positive")
		}
		o.passTTL, o.failTTL = pass, fail
		return nil
	}
}

// WithVerdictCacheSize caps the number of cached verdicts.
func WithVerdictCacheSize(n int) EngineOption {
	return func(o *engineOptions) error {
		if n <= 0 {
			return errors.New("verdict cache size must be positive")
		}
		o.cacheSize = n
		return nil
	}
}

// WithVerificationObserver calls observe after each verification the Engine makes (each
// verdict cache miss), with the policy and the result.
func WithVerificationObserver(observe func(*Policy, Result)) EngineOption {
	return func(o *engineOptions) error {
		o.observe = observe
		return nil
	}
}

// NewEngine returns an Engine judging with set, verifying through v.
func NewEngine(v *verify.Client, set *Set, opts ...EngineOption) (*Engine, error) {
	o := engineOptions{noMatch: NoMatchWarn, passTTL: 10 * time.Minute, failTTL: 30 * time.Second, cacheSize: 10000, cacheBytes: DefaultVerdictCacheBytes, parallelism: 16, maxImages: DefaultMaxImages}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("configuring engine: %w", err)
		}
	}
	e := &Engine{verifier: v, noMatch: o.noMatch, parallelism: o.parallelism, maxImages: o.maxImages, observe: o.observe,
		verdicts: cache.NewWeighted(o.cacheSize, o.passTTL, o.failTTL, (*outcome).weight, o.cacheBytes),
		images:   cache.New[*Image](o.cacheSize, time.Hour, 0)}
	if set == nil {
		set = newSet()
	}
	e.set.Store(set)
	return e, nil
}

// SetPolicies replaces the policy set; requests in flight finish with the one they started with.
func (e *Engine) SetPolicies(s *Set) { e.set.Store(s) }

// Policies returns the policy set in use.
func (e *Engine) Policies() *Set { return e.set.Load() }

// CacheStats reports the verdict cache's hits and misses.
func (e *Engine) CacheStats() (hits, misses uint64) { return e.verdicts.Stats() }

// Decide judges every image of req. It never returns an error: whatever goes wrong is a reason
// in the Decision, and it denies.
func (e *Engine) Decide(ctx context.Context, req *Request) *Decision {
	if d := unjudged(req); d != nil {
		return d
	}
	set := e.set.Load()
	sess := e.verifier.Session(ctx, req.Keychain, req.RegistryRate)
	// Each distinct image is judged once, all of them in parallel.
	index := map[string]int{}
	var unique []string
	for _, ref := range req.Images {
		if _, ok := index[ref.Image]; !ok {
			index[ref.Image] = len(unique)
			unique = append(unique, ref.Image)
		}
	}
	if len(unique) > e.maxImages {
		return e.tooMany(req, len(unique))
	}
	results := make([]ImageDecision, len(unique))
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.parallelism)
	in := newRegoBase(req)
	for i, raw := range unique {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// A panic here would take the whole webhook down, not just this request: deny
			// the image instead.
			defer func() {
				if r := recover(); r != nil {
					results[i] = ImageDecision{Image: raw, Reasons: []string{fmt.Sprintf("internal error judging this image: %v", r)}}
				}
			}()
			results[i] = e.image(ctx, sess, set, req, in, raw)
		}()
	}
	wg.Wait()
	dec := &Decision{Allowed: true}
	for _, ref := range req.Images {
		d := results[index[ref.Image]]
		d.Source = ref.Source
		dec.Images = append(dec.Images, d)
		dec.Allowed = dec.Allowed && d.Allowed
	}
	return dec
}

// tooMany denies every image of a request that names more distinct images than the limit.
func (e *Engine) tooMany(req *Request, n int) *Decision {
	reason := fmt.Sprintf("the object names %d distinct images, over the limit of %d per admission (--max-images); no image was judged", n, e.maxImages)
	dec := &Decision{}
	for _, ref := range req.Images {
		dec.Images = append(dec.Images, ImageDecision{Source: ref.Source, Image: ref.Image, Reasons: []string{reason}})
	}
	return dec
}
