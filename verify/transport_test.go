package verify_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis-dev/portcullis/verify"
)

// TestPrivateCARegistry: a registry served over TLS by a private CA is refused until its CA is
// trusted, and every request is reported to the observer.
func TestPrivateCARegistry(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(host + "/app:1")
	if err := remote.Write(ref, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t).Session(context.Background(), nil, nil).Digest(ref); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted CA was accepted: %v", err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	var mu sync.Mutex
	seen := map[string]int{}
	c := newClient(t, verify.WithRegistryCAs(ca), verify.WithRequestObserver(func(reg string, code int) {
		mu.Lock()
		seen[reg+" "+http.StatusText(code)]++
		mu.Unlock()
	}))
	d, err := c.Session(context.Background(), nil, nil).Digest(ref)
	if err != nil {
		t.Fatalf("with the CA trusted: %v", err)
	}
	h, _ := img.Digest()
	if d.DigestStr() != h.String() {
		t.Fatalf("digest %s, want %s", d.DigestStr(), h)
	}
	if seen[host+" OK"] == 0 {
		t.Fatalf("observed %v, want requests to %s", seen, host)
	}
	if _, err := verify.New(verify.WithRegistryCAs([]byte("not PEM"))); err == nil {
		t.Fatal("a CA bundle without certificates was accepted")
	}
}
