package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"

	"github.com/portcullis-dev/portcullis/internal/memtest"
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

// trickle answers a byte at a time, slower than any deadline allows for the whole.
func trickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.Header().Set("Content-Length", "100000")
	w.WriteHeader(http.StatusOK)
	for {
		if _, err := w.Write([]byte("{")); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func retryAfter(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusTooManyRequests)
}

// unauthorized sends every client to a token service that hands out tokens the registry then
// refuses: a 401 loop.
func unauthorized(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/token") {
		w.Write([]byte(`{"token": "useless"}`))
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="registry"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func redirectAway(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "http://127.0.0.1:1"+r.URL.Path, http.StatusTemporaryRedirect)
}

func redirectLoop(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
}

// otherManifest answers a request for one manifest with another, valid one.
func otherManifest(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.Write([]byte(`{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}, "layers": []}`))
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
	key.AttestBundle(t, d, provenance, sigtest.Statement(t, d, provenance, map[string]any{"builder": "ci"}))
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
		{"503 on the tag", fault{"/manifests/1", status(503)}, "digest", "503"},
		{"429 with Retry-After on the tag", fault{"/manifests/1", retryAfter}, "digest", "429"},
		{"a byte at a time on the signatures", fault{sigTag, trickle}, "verify", "did not answer before the deadline"},
		{"a 401 loop", fault{"/", unauthorized}, "digest", "401"},
		{"a redirect to another host", fault{"/manifests/1", redirectAway}, "digest", "127.0.0.1:1"},
		{"a redirect loop", fault{"/manifests/1", redirectLoop}, "digest", "did not answer before the deadline"},
		{"another manifest for a digest", fault{"/manifests/sha256:", otherManifest}, "attest", "digest"},
		{"reset on the signatures", fault{sigTag, reset}, "verify", "fetching"},
	}
	base, peak := memtest.HeapPeak(func() {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fy.f.Store(&tt.fault)
				defer fy.f.Store(nil)
				c := newClient(t)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				s := c.Session(ctx, nil, nil)
				var ref name.Reference = tag
				if tt.step != "digest" {
					ref = d
				}
				start := time.Now()
				got, err := s.Digest(ref)
				if err == nil && tt.step != "digest" {
					auth := keyAuthority(t, key)
					if tt.fault.match == "/referrers/" || tt.step == "attest" {
						auth = keyAuthority(t, key, provenance) // attestations read the referrers
					}
					_, err = s.Verify(got, auth)
				}
				t.Logf("answered in %v: %v", time.Since(start).Round(time.Millisecond), err)
				// A referrer that is not what its digest names is unreadable: a denial, not a pass.
				if err == nil || (verify.IsFailure(err) && tt.step != "attest") {
					t.Fatalf("got %v, want an infrastructure error", err)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %q does not say %q", err, tt.want)
				}
			})
		}
	})
	t.Logf("heap: %d MiB before the faults, peak %d MiB; %s", base>>20, peak>>20, memtest.PeakRSS())
	// HeapAlloc counts garbage not yet collected too, so the peak swings with the GC's
	// pacing (35 to 88 MiB seen here); the bound is half the chart's 512 MiB limit.
	if growth := int64(peak) - int64(base); growth > 256<<20 {
		t.Errorf("the heap grew by %d MiB over the faults", growth>>20)
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

// TestMovingTag: a registry that names a different digest for the same tag on every request
// gets each answer judged on its own: whatever digest a caller resolved is what it verifies,
// and none of them is signed.
func TestMovingTag(t *testing.T) {
	var n atomic.Int64
	reg := sigtest.NewRegistry(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/manifests/moving") {
				w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%064x", n.Add(1)))
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", "2")
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	key := sigtest.NewKey(t)
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		s := session(t, newClient(t))
		d, err := s.Digest(reg.Ref(t, "app:moving"))
		if err != nil {
			t.Fatal(err)
		}
		seen[d.DigestStr()] = true
		if _, err := s.Verify(d, keyAuthority(t, key)); !verify.IsFailure(err) || !strings.Contains(err.Error(), "no signatures found") {
			t.Fatalf("digest %s of a moving tag: %v", d.DigestStr(), err)
		}
	}
	if len(seen) != 2 {
		t.Fatalf("the tag did not move: %v", seen)
	}
}
