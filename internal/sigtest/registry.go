package sigtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is an in-process OCI registry on loopback.
type Registry struct {
	// Host is host:port, to put in front of a repository name.
	Host string
	srv  *httptest.Server
}

// NewRegistry starts a registry, with or without the OCI 1.1 referrers API, wrapping its handler
// with wrap when given (to count or break requests). It stops when the test ends.
func NewRegistry(t testing.TB, referrers bool, wrap ...func(http.Handler) http.Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.WithReferrersSupport(referrers), registry.Logger(nopLogger()))
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://"), srv: srv}
}

// Ref parses repo:tag (or repo@digest) on this registry.
func (r *Registry) Ref(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// PushRandom pushes a random image as repo:tag and returns its digest reference.
func (r *Registry) PushRandom(t testing.TB, repoTag string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r.Push(t, repoTag, img)
}

// Push pushes img as repo:tag and returns its digest reference.
func (r *Registry) Push(t testing.TB, repoTag string, img v1.Image) name.Digest {
	t.Helper()
	ref := r.Ref(t, repoTag)
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// Digest returns the digest reference of repo@digest on this registry.
func (r *Registry) Digest(t testing.TB, repo string, h fmt.Stringer) name.Digest {
	t.Helper()
	return r.Ref(t, repo).Context().Digest(h.String())
}
