package verify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/time/rate"
)

// WithRegistryCAs trusts the PEM certificates in bundle, besides the system's, for registries
// with a private CA.
func WithRegistryCAs(bundle []byte) Option {
	return func(o *options) error {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(bundle) {
			return errors.New("the registry CA bundle holds no PEM certificate")
		}
		base, ok := remote.DefaultTransport.(*http.Transport)
		if !ok {
			return errors.New("go-containerregistry's default transport is not an *http.Transport")
		}
		t := base.Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		o.transport = t
		return nil
	}
}

// WithInsecureRegistries lets the listed registries (host or host:port) be reached over plain
// HTTP. Loopback registries always may be, by go-containerregistry's own rule. Each is matched
// in its canonical spelling (CanonicalRegistry), as every request is made.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error {
		if o.insecure == nil {
			o.insecure = map[string]bool{}
		}
		for _, h := range hosts {
			c, err := CanonicalRegistry(h)
			if err != nil {
				return fmt.Errorf("insecure registry: %w", err)
			}
			o.insecure[c] = true
		}
		return nil
	}
}

// WithRequestObserver calls observe after every registry request, with the registry host and
// the response's status code (0 when there was no response).
func WithRequestObserver(observe func(registry string, code int)) Option {
	return func(o *options) error {
		o.observe = observe
		return nil
	}
}

// registryTransport is every registry request's way out: it downgrades the listed registries to
// plain HTTP, reports each request, and bounds each response body.
type registryTransport struct {
	insecure map[string]bool
	observe  func(string, int)
	limit    *limitTransport
}

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" && t.insecure[req.URL.Host] {
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
	}
	resp, err := t.limit.RoundTrip(req)
	if t.observe != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.observe(req.URL.Host, code)
	}
	return resp, err
}

// pacedTransport waits for its limiter before each request.
type pacedTransport struct {
	next  http.RoundTripper
	limit *rate.Limiter
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limit.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("waiting for the registry request budget: %w", err)
	}
	return t.next.RoundTrip(req)
}
