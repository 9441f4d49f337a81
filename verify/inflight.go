package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// inflightTransport caps the registry requests in flight across the whole process, and each
// registry's share of them, so that concurrent hostile admissions cannot multiply the fetches
// and one hanging registry cannot hold every slot and starve the others. A slot is held until
// the response body is closed or read to its end, or the request's context ends, whichever
// comes first: a body nobody closes cannot leak one.
type inflightTransport struct {
	next     http.RoundTripper
	global   *semaphore.Weighted
	perHost  int64
	max      int64
	mu       sync.Mutex
	registry map[string]*semaphore.Weighted
}

func newInflightTransport(next http.RoundTripper, max, perRegistry int) *inflightTransport {
	return &inflightTransport{next: next, global: semaphore.NewWeighted(int64(max)), max: int64(max),
		perHost: int64(perRegistry), registry: map[string]*semaphore.Weighted{}}
}

func (t *inflightTransport) host(h string) *semaphore.Weighted {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.registry[h]
	if !ok {
		s = semaphore.NewWeighted(t.perHost)
		t.registry[h] = s
	}
	return s
}

func (t *inflightTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	host := t.host(req.URL.Host)
	if err := host.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("waiting for one of the %d requests in flight allowed to registry %s (--registry-requests-per-registry): %w", t.perHost, req.URL.Host, err)
	}
	if err := t.global.Acquire(ctx, 1); err != nil {
		host.Release(1)
		return nil, fmt.Errorf("waiting for one of the %d registry requests in flight allowed to the process (--registry-requests-in-flight): %w", t.max, err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			t.global.Release(1)
			host.Release(1)
		})
	}
	stop := context.AfterFunc(ctx, release)
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		stop()
		release()
		return resp, err
	}
	resp.Body = &slotBody{ReadCloser: resp.Body, release: func() { stop(); release() }}
	return resp, nil
}

// slotBody gives its slot back when closed or read to the end.
type slotBody struct {
	io.ReadCloser
	release func()
}

func (b *slotBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *slotBody) Close() error {
	b.release()
	return b.ReadCloser.Close()
}
