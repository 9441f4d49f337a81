package verify_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// fault breaks the requests whose path contains match, once armed.
type fault struct {
	match string
	do    func(w http.ResponseWriter, r *http.Request)
}

type faulty struct{ f atomic.Pointer[fault] }

func (fy *faulty) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := fy.f.Load(); f != nil && strings.Contains(r.URL.Path, f.match) {
			f.do(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func reset(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func garbage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.Write([]byte("{not a manifest"))
}

// TestRegistryFaults: every registry fault is an error that names it, never a verification
// failure and never a pass, and a hanging registry gives up at the caller's deadline.
func TestRegistryFaults(t *testing.T) {
	var fy faulty
	reg := sigtest.NewRegistry(t, true, fy.wrap)
	key := sigtest.NewKey(t)
	d := reg.PushRandom(t, "app:1")
	key.SignLegacy(t, d)
	tag := reg.Ref(t, "app:1")
	sigTag := strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig"

	tests := []struct {
		name  string
		fault fault
		step  string // "digest" or "verify"
		want  string
	}{
		{"500 on the tag", fault{"/manifests/1", status(500)}, "digest", "500"},
		{"429 on the tag", fault{"/manifests/1", status(429)}, "digest", "429"},
		{"hang on the tag", fault{"/manifests/1", hang}, "digest", "did not answer before the deadline"},
		{"reset on the tag", fault{"/manifests/1", reset}, "digest", "resolving digest of"},
		{"500 on the signatures", fault{sigTag, status(500)}, "verify", "500"},
		{"hang on the signatures", fault{sigTag, hang}, "verify", "did not answer before the deadline"},
		{"malformed signature manifest", fault{sigTag, garbage}, "verify", "invalid character"},
		{"500 on the referrers", fault{"/referrers/", status(500)}, "verify", "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fy.f.Store(&tt.fault)
			defer fy.f.Store(nil)
			c := newClient(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s := c.Session(ctx, nil, nil)
			var ref name.Reference = tag
			if tt.step == "verify" {
				ref = d
			}
			got, err := s.Digest(ref)
			if err == nil && tt.step == "verify" {
				auth := keyAuthority(t, key)
				if tt.fault.match == "/referrers/" {
					auth = keyAuthority(t, key, provenance) // attestations read the referrers
				}
				_, err = s.Verify(got, auth)
			}
			if err == nil || verify.IsFailure(err) {
				t.Fatalf("got %v, want an infrastructure error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestHugeResponse: a registry that serves a blob larger than the limit is refused before it
// is read into memory.
func TestHugeResponse(t *testing.T) {
	reg := sigtest.NewRegistry(t, false)
	key := sigtest.NewKey(t)
	d := reg.PushRandom(t, "app:1")
	key.SignLegacy(t, d)
	c := newClient(t, verify.WithMaxResponseBytes(256)) // the signature payload is larger
	_, err := session(t, c).Verify(d, keyAuthority(t, key))
	if err == nil || verify.IsFailure(err) || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("Verify = %v, want an error saying the response exceeds the limit", err)
	}
}
