package cache

import (
	"sync"
	"time"
	"weak"
)

// sweepEvery is how often expired entries are dropped from every cache, read or not.
var sweepEvery = 10 * time.Second

// sweeper drops expired entries from every live cache, so the memory that short-lived material
// (fetched signatures, tag answers) holds is given back even when nothing reads it again. One
// goroutine serves the whole process and holds the caches weakly: a cache nobody uses any more
// is collected with its entries, and the sweeper forgets it.
var sweeper struct {
	once sync.Once
	mu   sync.Mutex
	all  []func(now time.Time) (alive bool)
}

// sweepLater registers t with the sweeper.
func sweepLater[V any](t *ttlLRU[V]) {
	p := weak.Make(t)
	sweeper.mu.Lock()
	sweeper.all = append(sweeper.all, func(now time.Time) bool {
		t := p.Value()
		if t != nil {
			t.sweep(now)
		}
		return t != nil
	})
	sweeper.mu.Unlock()
	sweeper.once.Do(func() {
		go func() {
			for now := range time.Tick(sweepEvery) {
				sweepAll(now)
			}
		}()
	})
}

// sweepAll sweeps every live cache and forgets the collected ones.
func sweepAll(now time.Time) {
	sweeper.mu.Lock()
	defer sweeper.mu.Unlock()
	kept := sweeper.all[:0]
	for _, sweep := range sweeper.all {
		if sweep(now) {
			kept = append(kept, sweep)
		}
	}
	clear(sweeper.all[len(kept):])
	sweeper.all = kept
}

// sweep drops the entries that have expired by now. An entry replaced between the check and
// the removal is dropped too, which costs one miss and never serves a stale value.
func (t *ttlLRU[V]) sweep(now time.Time) {
	for _, k := range t.lru.Keys() {
		if e, ok := t.lru.Peek(k); ok && !now.Before(e.expires) {
			t.lru.Remove(k)
		}
	}
}
