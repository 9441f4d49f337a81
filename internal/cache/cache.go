package cache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Cache maps string keys to values of type V. Values that fill reports as failures are kept for
// a shorter time than successes, so a fixed registry or a new signature is seen soon.
type Cache[V any] struct {
	ok, failed *ttlLRU[V]
	flight     singleflight.Group
	hits, miss atomic.Uint64
}

// New returns a cache of at most size entries of each kind, keeping successes for ttl and
// failures for failTTL. A failTTL of zero keeps no failures.
func New[V any](size int, ttl, failTTL time.Duration) *Cache[V] {
	return NewWeighted[V](size, ttl, failTTL, nil, 0)
}

// NewWeighted is New with a second bound: the entries of each kind weigh at most maxWeight in
// all, by weigh (their bytes, say). The least recently used go first; one heavier than
// maxWeight alone is not kept.
func NewWeighted[V any](size int, ttl, failTTL time.Duration, weigh func(V) int64, maxWeight int64) *Cache[V] {
	c := &Cache[V]{ok: newTTLLRU[V](size, ttl, weigh, maxWeight)}
	if failTTL > 0 {
		c.failed = newTTLLRU[V](size, failTTL, weigh, maxWeight)
	}
	return c
}

// Weight returns what the entries held weigh, by the weigh function of NewWeighted.
func (c *Cache[V]) Weight() int64 {
	w := c.ok.weight.Load()
	if c.failed != nil {
		w += c.failed.weight.Load()
	}
	return w
}

// ErrGaveUp is returned, with the context's error, by a Get whose context ended before the
// value was there.
var ErrGaveUp = errors.New("gave up waiting for the lookup")

// Get returns the value for key, calling fill at most once for all concurrent callers when it
// is not cached. fill returns the value, whether it is a failure (cached for failTTL), and an
// error, which is returned to every waiting caller and never cached.
//
// A caller waits for a fill that another caller started only until its own ctx is done. When
// that fill was cut short by the other caller's context (its deadline, its client gone), the
// answer is not this caller's: it fills again itself, once.
func (c *Cache[V]) Get(ctx context.Context, key string, fill func() (V, bool, error)) (V, error) {
	if v, ok := c.peek(key); ok {
		c.hits.Add(1)
		return v, nil
	}
	c.miss.Add(1)
	var zero V
	for attempt := 0; ; attempt++ {
		ch := c.flight.DoChan(key, func() (_ any, err error) {
			// fill runs on singleflight's goroutine, where a panic would end the process.
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("looking up %s failed: panic: %v", key, p)
				}
			}()
			if v, ok := c.peek(key); ok {
				return v, nil
			}
			v, failed, err := fill()
			if err != nil {
				return v, err
			}
			switch {
			case !failed:
				c.ok.Add(key, v)
			case c.failed != nil:
				c.failed.Add(key, v)
			}
			return v, nil
		})
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("%w: %w", ErrGaveUp, ctx.Err())
		case r := <-ch:
			if r.Err != nil && r.Shared && attempt == 0 && ctx.Err() == nil &&
				(errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
				continue
			}
			v, _ := r.Val.(V) // nil when V is an interface and fill failed
			return v, r.Err
		}
	}
}

func (c *Cache[V]) peek(key string) (V, bool) {
	if v, ok := c.ok.Get(key); ok {
		return v, true
	}
	if c.failed != nil {
		return c.failed.Get(key)
	}
	var zero V
	return zero, false
}

// Stats returns how many lookups were answered from the cache and how many were not.
func (c *Cache[V]) Stats() (hits, misses uint64) { return c.hits.Load(), c.miss.Load() }

// Len returns the number of entries held.
func (c *Cache[V]) Len() int {
	n := c.ok.Len()
	if c.failed != nil {
		n += c.failed.Len()
	}
	return n
}

// ttlLRU is a size-bounded LRU whose entries also expire. Expiry is checked on read, and the
// process's one sweeper drops expired entries that nobody reads.
type ttlLRU[V any] struct {
	lru *lru.Cache[string, entry[V]]
	ttl time.Duration
	// weigh, when set, weighs entries; the held ones weigh weight, at most maxWeight.
	weigh     func(V) int64
	maxWeight int64
	weight    atomic.Int64
}

type entry[V any] struct {
	v       V
	expires time.Time
	weight  int64
}

func newTTLLRU[V any](size int, ttl time.Duration, weigh func(V) int64, maxWeight int64) *ttlLRU[V] {
	t := &ttlLRU[V]{ttl: ttl, weigh: weigh, maxWeight: maxWeight}
	// New fails only for a size below 1.
	t.lru, _ = lru.NewWithEvict[string, entry[V]](max(size, 1), func(_ string, e entry[V]) { t.weight.Add(-e.weight) })
	sweepLater(t)
	return t
}

// Add stores v under key until the TTL runs out, dropping the least recently used entries
// while the whole weighs more than allowed.
func (t *ttlLRU[V]) Add(key string, v V) {
	e := entry[V]{v: v, expires: time.Now().Add(t.ttl)}
	if t.weigh != nil {
		if e.weight = t.weigh(v); e.weight > t.maxWeight {
			return
		}
	}
	t.lru.Remove(key) // so a replaced entry's weight is given back
	t.weight.Add(e.weight)
	t.lru.Add(key, e)
	for t.weigh != nil && t.weight.Load() > t.maxWeight && t.lru.Len() > 1 {
		t.lru.RemoveOldest()
	}
}

// Get returns the live value under key.
func (t *ttlLRU[V]) Get(key string) (V, bool) {
	e, ok := t.lru.Get(key)
	if ok && time.Now().Before(e.expires) {
		return e.v, true
	}
	if ok {
		t.lru.Remove(key)
	}
	var zero V
	return zero, false
}

// Len counts the entries held, expired or not.
func (t *ttlLRU[V]) Len() int { return t.lru.Len() }
