package verify

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// budgetTransport bounds the bytes one session (one admission, one audited pod, one CLI run)
// reads from registries in total, on top of each response's own bound.
type budgetTransport struct {
	next http.RoundTripper
	max  int64
	read atomic.Int64
}

func (t *budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if n := t.read.Load(); n >= t.max {
		return nil, t.exceeded(n)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &budgetBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

func (t *budgetTransport) exceeded(n int64) error {
	return fmt.Errorf("this request has read %d bytes from registries, over the limit of %d per admission (--max-admission-bytes)", n, t.max)
}

type budgetBody struct {
	io.ReadCloser
	t *budgetTransport
}

func (b *budgetBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if total := b.t.read.Add(int64(n)); total > b.t.max {
		return n, b.t.exceeded(total)
	}
	return n, err
}
