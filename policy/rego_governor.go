package policy

import (
	"fmt"
	"runtime/metrics"
	"sync"
	"time"
)

const (
	// regoMaxHeap is the Go heap at which evaluations that have run longer than regoSlow are
	// stopped: well under the chart's 512 MiB memory limit, and far over what the caches use
	// (about 36 MiB with 10,000 verdicts, docs/performance.md).
	regoMaxHeap = 192 << 20
	// regoSlow is how long an evaluation runs before the governor watches it; a real policy
	// takes well under 10 ms, so the quick evaluations of other namespaces are never stopped.
	regoSlow = 50 * time.Millisecond
	// regoSample is how often the heap is read while a slow evaluation runs.
	regoSample = 5 * time.Millisecond
)

// governor bounds the memory of all evaluations together, which the per-evaluation bounds do
// not: OPA allocates between its cancellation checks at a rate only CPU time limits, so many
// slow evaluations at once could together exhaust the process. It reads the heap only while
// some evaluation has run longer than regoSlow.
type governor struct {
	mu      sync.Mutex
	watched map[*evalBound]time.Time // when each started
	running bool
}

// slow is the process's one governor: the heap it watches is the process's.
var slow = &governor{watched: map[*evalBound]time.Time{}}

// watch has b watched from regoSlow on; the returned function ends it.
func (g *governor) watch(b *evalBound) (done func()) {
	start := time.Now()
	t := time.AfterFunc(regoSlow, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if b.Cancelled() {
			return
		}
		g.watched[b] = start
		if !g.running {
			g.running = true
			go g.sample()
		}
	})
	return func() {
		t.Stop()
		g.mu.Lock()
		delete(g.watched, b)
		g.mu.Unlock()
	}
}

// sample stops the oldest watched evaluations while the heap is over regoMaxHeap: those that
// have run at least half as long as the oldest, so that a quick evaluation slowed by the
// others' load is spared. It returns once none is left.
func (g *governor) sample() {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	tick := time.NewTicker(regoSample)
	defer tick.Stop()
	for range tick.C {
		g.mu.Lock()
		if len(g.watched) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		metrics.Read(s)
		if heap := s[0].Value.Uint64(); heap > regoMaxHeap {
			now := time.Now()
			var oldest time.Duration
			for _, start := range g.watched {
				oldest = max(oldest, now.Sub(start))
			}
			for b, start := range g.watched {
				if ran := now.Sub(start); ran >= oldest/2 {
					b.stop(fmt.Sprintf("it had run for %s when the process's heap reached %d MiB, over the %d MiB at which the longest evaluations are stopped",
						ran.Round(time.Millisecond), heap>>20, regoMaxHeap>>20))
					delete(g.watched, b)
				}
			}
		}
		g.mu.Unlock()
	}
}
