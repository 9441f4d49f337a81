// Package memtest measures a test process's memory: the Go heap's peak while something runs,
// and the resident set Linux reports. Tests that put the process under hostile load use it to
// state a bound and to log the figures docs/performance.md quotes.
package memtest

import (
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// HeapPeak runs f and returns the HeapAlloc before it (after a collection) and the highest
// HeapAlloc seen while it ran, sampled every 2 ms.
func HeapPeak(f func()) (base, peak uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base = ms.HeapAlloc
	var max atomic.Uint64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > max.Load() {
				max.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return base, max.Load()
}

// PeakRSS is the process's peak resident set (VmHWM), as the log should say it.
func PeakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "peak RSS unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return "peak RSS of the test process " + strings.TrimSpace(v)
		}
	}
	return "peak RSS unknown"
}
