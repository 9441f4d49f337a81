package verify

import (
	"errors"
	"fmt"
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
	limits           Limits
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
		limits:           DefaultLimits(),
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

// Limits bound what registries can make a Portcullis process read and hold. Each is a flag and
// a chart value; the defaults fit real images (cosign attaches one layer per signature, SBOM
// attestations run to a few MiB) with room to spare.
type Limits struct {
	// Signatures caps the signatures, attestations or Sigstore bundle referrers read in one
	// lookup for one image (its .sig image, its .att image, its referrers).
	Signatures int
	// ImageBytes caps the bytes a .sig or .att image's layers may add up to, as its manifest
	// declares them: refused before any is read.
	ImageBytes int64
	// AdmissionBytes caps the bytes one session (one admission) reads from registries in all.
	AdmissionBytes int64
	// InFlight caps the registry requests in flight across the process, and PerRegistry each
	// registry's share of them.
	InFlight, PerRegistry int
}

// DefaultLimits are the limits of a Client made without WithLimits.
func DefaultLimits() Limits {
	return Limits{Signatures: 32, ImageBytes: 32 << 20, AdmissionBytes: 64 << 20, InFlight: 32, PerRegistry: 8}
}

// WithLimits sets the limits on what registries can make the process read.
func WithLimits(l Limits) Option {
	return func(o *options) error {
		switch {
		case l.Signatures <= 0, l.ImageBytes <= 0, l.AdmissionBytes <= 0, l.InFlight <= 0, l.PerRegistry <= 0:
			return fmt.Errorf("registry limits must be positive: %+v", l)
		case l.PerRegistry > l.InFlight:
			return fmt.Errorf("the requests in flight per registry (%d) cannot exceed those of the process (%d)", l.PerRegistry, l.InFlight)
		}
		o.limits = l
		return nil
	}
}
