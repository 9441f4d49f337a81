package verify

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures a Client.
type Option func(*options) error

type options struct {
	transport        http.RoundTripper
	keychain         authn.Keychain
	digestTTL        time.Duration
	materialTTL      time.Duration
	cacheSize        int
	maxResponseBytes int64
	userAgent        string
	insecure         map[string]bool
	observe          func(registry string, code int)
}

func defaultOptions() options {
	return options{
		transport:        remote.DefaultTransport,
		keychain:         authn.DefaultKeychain,
		digestTTL:        30 * time.Second,
		materialTTL:      15 * time.Second,
		cacheSize:        10000,
		maxResponseBytes: 16 << 20,
		userAgent:        "portcullis",
	}
}

// WithTransport sets the HTTP transport used to reach registries.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return errors.New("nil transport")
		}
		o.transport = t
		return nil
	}
}

// WithKeychain sets the credentials used when a session brings none.
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) error {
		if kc == nil {
			return errors.New("nil keychain")
		}
		o.keychain = kc
		return nil
	}
}

// WithDigestTTL sets how long a tag's digest is trusted before it is asked again.
func WithDigestTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("digest TTL must be positive")
		}
		o.digestTTL = d
		return nil
	}
}

// WithMaterialTTL sets how long the signatures and attestations found for a digest are kept.
func WithMaterialTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("material TTL must be positive")
		}
		o.materialTTL = d
		return nil
	}
}

// WithCacheSize caps the entries of each cache.
func WithCacheSize(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return errors.New("cache size must be positive")
		}
		o.cacheSize = n
		return nil
	}
}

// WithMaxResponseBytes caps the size of any one registry response body, so a hostile registry
// cannot exhaust memory with a huge manifest or blob.
func WithMaxResponseBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return errors.New("max response bytes must be positive")
		}
		o.maxResponseBytes = n
		return nil
	}
}
