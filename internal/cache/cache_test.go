package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	ctx := context.Background()
	c := New[int](2, time.Hour, 50*time.Millisecond)
	calls := 0
	fill := func(v int, failed bool, err error) func() (int, bool, error) {
		return func() (int, bool, error) { calls++; return v, failed, err }
	}
	if v, err := c.Get(ctx, "a", fill(1, false, nil)); v != 1 || err != nil {
		t.Fatalf("Get = %d, %v", v, err)
	}
	if v, _ := c.Get(ctx, "a", fill(2, false, nil)); v != 1 || calls != 1 {
		t.Fatalf("a second Get filled again: %d, %d calls", v, calls)
	}
	// Errors are returned and never cached.
	if _, err := c.Get(ctx, "e", fill(0, false, errors.New("down"))); err == nil {
		t.Fatal("error not returned")
	}
	if v, err := c.Get(ctx, "e", fill(3, false, nil)); v != 3 || err != nil {
		t.Fatalf("an error was cached: %d, %v", v, err)
	}
	// Failures expire after the failure TTL.
	c.Get(ctx, "f", fill(4, true, nil))
	if v, _ := c.Get(ctx, "f", fill(5, false, nil)); v != 4 {
		t.Fatalf("failure not cached: %d", v)
	}
	time.Sleep(120 * time.Millisecond)
	if v, _ := c.Get(ctx, "f", fill(6, false, nil)); v != 6 {
		t.Fatalf("failure outlived its TTL: %d", v)
	}
	// The cache is bounded.
	for _, k := range []string{"x", "y", "z", "w"} {
		c.Get(ctx, k, fill(7, false, nil))
	}
	if n := c.Len(); n > 4 {
		t.Fatalf("%d entries, want at most 2 successes and 2 failures", n)
	}
	if hits, misses := c.Stats(); hits < 2 || misses < 6 {
		t.Fatalf("stats %d hits, %d misses", hits, misses)
	}
}

// TestSingleFlight: concurrent callers of one missing key share one fill.
func TestSingleFlight(t *testing.T) {
	ctx := context.Background()
	c := New[int](10, time.Hour, 0)
	var fills atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Get(ctx, "k", func() (int, bool, error) {
				fills.Add(1)
				<-release
				return 42, false, nil
			})
			if v != 42 || err != nil {
				t.Errorf("Get = %d, %v", v, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := fills.Load(); n != 1 {
		t.Fatalf("%d fills for one key, want 1", n)
	}
}

// TestSweep: expired entries leave without being read, and a cache nobody holds is forgotten.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	c := New[int](10, time.Minute, time.Second)
	for _, k := range []string{"a", "b", "c"} {
		c.Get(ctx, k, func() (int, bool, error) { return 1, false, nil })
	}
	c.Get(ctx, "f", func() (int, bool, error) { return 0, true, nil })
	sweepAll(time.Now().Add(2 * time.Second))
	if n := c.Len(); n != 3 {
		t.Fatalf("%d entries after the failure TTL, want the 3 successes", n)
	}
	sweepAll(time.Now().Add(2 * time.Minute))
	if n := c.Len(); n != 0 {
		t.Fatalf("%d entries after every TTL, want 0", n)
	}

	registered := func() int {
		sweeper.mu.Lock()
		defer sweeper.mu.Unlock()
		return len(sweeper.all)
	}
	before := registered()
	for range 100 {
		New[int](10, time.Minute, time.Second).Get(context.Background(), "x", func() (int, bool, error) { return 1, false, nil })
	}
	runtime.GC()
	runtime.GC()
	sweepAll(time.Now())
	if after := registered(); after > before {
		t.Fatalf("%d caches registered after 100 dropped caches were collected (%d before)", after, before)
	}
	runtime.KeepAlive(c)
}

// TestWaitersKeepTheirOwnDeadline: a caller waiting for another caller's fill gives up at its
// own deadline, and a fill cut short by the other caller's context is done again.
func TestWaitersKeepTheirOwnDeadline(t *testing.T) {
	c := New[int](10, time.Hour, 0)
	slow, release := make(chan struct{}), make(chan struct{})
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Get(leaderCtx, "k", func() (int, bool, error) {
			close(slow)
			select { // a registry call that honours its caller's context
			case <-release:
				return 1, false, nil
			case <-leaderCtx.Done():
				return 0, false, fmt.Errorf("fetching: %w", leaderCtx.Err())
			}
		})
		leaderDone <- err
	}()
	<-slow

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Get(short, "k", func() (int, bool, error) {
		t.Error("a waiter filled while the first fill was running")
		return 0, false, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrGaveUp) {
		t.Fatalf("a waiter past its deadline got %v, want its own deadline", err)
	}

	waiter := make(chan int, 1)
	go func() {
		v, err := c.Get(context.Background(), "k", func() (int, bool, error) { return 2, false, nil })
		if err != nil {
			t.Errorf("the waiter whose leader was canceled: %v", err)
		}
		waiter <- v
	}()
	time.Sleep(50 * time.Millisecond) // let it join the flight
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the canceled caller got %v", err)
	}
	if v := <-waiter; v != 2 {
		t.Fatalf("the waiter got %d, want its own fill's 2", v)
	}
}

// TestFillPanics: a fill that panics is an error for its callers, not the end of the process.
func TestFillPanics(t *testing.T) {
	c := New[int](10, time.Hour, 0)
	_, err := c.Get(context.Background(), "k", func() (int, bool, error) { panic("index out of range") })
	if err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("a panicking fill gave %v", err)
	}
	if v, err := c.Get(context.Background(), "k", func() (int, bool, error) { return 3, false, nil }); v != 3 || err != nil {
		t.Fatalf("after a panic, Get = %d, %v", v, err)
	}
}

// TestWeightBound: entries that weigh more than the bound in all push out the least recently
// used, one heavier than the bound is not kept, and what is dropped is no longer counted.
func TestWeightBound(t *testing.T) {
	c := NewWeighted[string](100, time.Hour, 0, func(v string) int64 { return int64(len(v)) }, 10)
	fill := func(v string) func() (string, bool, error) {
		return func() (string, bool, error) { return v, false, nil }
	}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		c.Get(ctx, k, fill("xxxx")) // 4 bytes each: the third pushes out the first
	}
	if got := c.Weight(); got != 8 || c.Len() != 2 {
		t.Fatalf("weight %d over %d entries, want 8 over 2", got, c.Len())
	}
	if _, ok := c.peek("a"); ok {
		t.Fatal("the least recently used entry was kept past the bound")
	}
	c.Get(ctx, "huge", fill("0123456789abc"))
	if _, ok := c.peek("huge"); ok || c.Weight() != 8 {
		t.Fatalf("an entry heavier than the bound was kept (weight %d)", c.Weight())
	}
}
