package verify_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"

	"github.com/portcullis-dev/portcullis/internal/memtest"
)

// rawManifest is a manifest pushed as its bytes: a hostile registry serves what it likes.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error) { return m, nil }
func (rawManifest) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

// manifest writes an OCI manifest with the given layer sizes (blobs that were never pushed: the
// bounds must refuse it before reading any), and a subject and artifactType when given.
func manifest(t *testing.T, ref name.Reference, sizes []int64, subject *name.Digest, artifactType string) {
	t.Helper()
	desc := func(mt string, size int64, seed string) map[string]any {
		return map[string]any{"mediaType": mt, "size": size, "digest": fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(seed)))}
	}
	m := map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": desc("application/vnd.oci.empty.v1+json", 2, "config"), "layers": []any{}}
	layers := []any{}
	for i, s := range sizes {
		layers = append(layers, desc("application/vnd.dev.cosign.simplesigning.v1+json", s, fmt.Sprint(ref, i)))
	}
	m["layers"] = layers
	if subject != nil {
		m["subject"] = map[string]any{"mediaType": types.OCIManifestSchema1, "digest": subject.DigestStr(), "size": 100}
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(ref, rawManifest(b)); err != nil {
		t.Fatal(err)
	}
}

// TestMaterialBounds: what a hostile registry lists is refused, from the manifest alone and
// with the limit and the value in the reason, before it is read.
func TestMaterialBounds(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	a := keyAuthority(t, key)
	sigTag := func(d name.Digest) name.Tag {
		tag, err := ociremote.SignatureTag(d)
		if err != nil {
			t.Fatal(err)
		}
		return tag
	}
	t.Run("a .sig image of 1,000 layers", func(t *testing.T) {
		d := reg.PushRandom(t, "many/app:1")
		manifest(t, sigTag(d), make([]int64, 1000), nil, "")
		_, err := session(t, newClient(t)).Verify(d, a)
		if err == nil || !strings.Contains(err.Error(), "lists 1000 layers, over the limit of 32 signatures per image (--max-signatures)") {
			t.Fatalf("Verify = %v", err)
		}
	})
	t.Run("layers declaring more bytes than an image may hold", func(t *testing.T) {
		d := reg.PushRandom(t, "huge/app:1")
		manifest(t, sigTag(d), []int64{20 << 20, 20 << 20}, nil, "")
		_, err := session(t, newClient(t)).Verify(d, a)
		if err == nil || !strings.Contains(err.Error(), "declares more than 33554432 bytes of layers") || !strings.Contains(err.Error(), "--max-signature-bytes") {
			t.Fatalf("Verify = %v", err)
		}
		manifest(t, sigTag(d), []int64{1 << 62, 1 << 62, 1 << 62}, nil, "") // no overflow
		if _, err := session(t, newClient(t)).Verify(d, a); err == nil || !strings.Contains(err.Error(), "--max-signature-bytes") {
			t.Fatalf("Verify = %v", err)
		}
	})
	t.Run("more referrers that may be bundles than an image may have", func(t *testing.T) {
		d := reg.PushRandom(t, "referred/app:1")
		for i := 0; i < 4; i++ {
			manifest(t, d.Context().Tag(fmt.Sprint("r", i)), []int64{10}, &d, "application/vnd.dev.sigstore.bundle.v0.3+json")
		}
		c := newClient(t, verify.WithLimits(verify.Limits{Signatures: 3, ImageBytes: 1 << 20, AdmissionBytes: 1 << 20, InFlight: 4, PerRegistry: 2}))
		_, err := session(t, c).Verify(d, a)
		if err == nil || !strings.Contains(err.Error(), "more than 3 may be Sigstore bundles, over the limit of 3 per image (--max-signatures)") {
			t.Fatalf("Verify = %v", err)
		}
	})
	t.Run("an admission reads no more than its byte budget", func(t *testing.T) {
		d := reg.PushRandom(t, "budget/app:1")
		key.SignLegacy(t, d)
		c := newClient(t, verify.WithLimits(verify.Limits{Signatures: 32, ImageBytes: 1 << 20, AdmissionBytes: 512, InFlight: 4, PerRegistry: 2}))
		_, err := session(t, c).Verify(d, a)
		if err == nil || !strings.Contains(err.Error(), "over the limit of 512 per admission (--max-admission-bytes)") {
			t.Fatalf("Verify = %v", err)
		}
		if res, err := session(t, newClient(t)).Verify(d, a); err != nil || len(res.Signatures) != 1 {
			t.Fatalf("with the default budget: %+v, %v", res, err)
		}
	})
	t.Run("bad limits are refused", func(t *testing.T) {
		for _, l := range []verify.Limits{{}, {Signatures: 1, ImageBytes: 1, AdmissionBytes: 1, InFlight: 1, PerRegistry: 2}} {
			if _, err := verify.New(verify.WithLimits(l)); err == nil {
				t.Errorf("limits %+v accepted", l)
			}
		}
	})
}

// TestHangingRegistryHoldsOnlyItsShare: requests to a registry that never answers hold at most
// their registry's share of the process's slots, so another registry is still answered.
func TestHangingRegistryHoldsOnlyItsShare(t *testing.T) {
	held := make(chan struct{}, 16)
	black := sigtest.NewRegistry(t, true, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			held <- struct{}{}
			<-r.Context().Done()
		})
	})
	good := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	d := good.PushRandom(t, "app:1")
	key.SignLegacy(t, d)
	c := newClient(t, verify.WithLimits(verify.Limits{Signatures: 32, ImageBytes: 1 << 20, AdmissionBytes: 1 << 20, InFlight: 3, PerRegistry: 2}))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref, _ := name.ParseReference(fmt.Sprintf("%s/hang/app:%d", black.Host, i))
			c.Session(ctx, nil, nil).Digest(ref)
		}()
	}
	for i := 0; i < 2; i++ { // the black hole's share is taken
		<-held
	}
	// Without the per-registry share the hanging requests would hold every slot, and this
	// would wait until its deadline.
	vctx, vcancel := context.WithTimeout(context.Background(), time.Minute)
	defer vcancel()
	res, err := c.Session(vctx, nil, nil).Verify(d, keyAuthority(t, key))
	cancel()
	wg.Wait()
	if err != nil || len(res.Signatures) != 1 {
		t.Fatalf("the healthy registry, while another hangs: %+v, %v", res, err)
	}
}

// TestHostileLoadHeap: 20 concurrent admissions, each naming 16 distinct images whose .sig
// images list 1,000 layers, keep the heap small, and a signed image beside them still verifies.
func TestHostileLoadHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test: runs in make test, not in the -short loop")
	}
	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	a := keyAuthority(t, key)
	var hostile []name.Digest
	for i := 0; i < 16; i++ {
		d := reg.PushRandom(t, fmt.Sprintf("hostile/app:%d", i))
		tag, err := ociremote.SignatureTag(d)
		if err != nil {
			t.Fatal(err)
		}
		sizes := make([]int64, 1000)
		for j := range sizes {
			sizes[j] = 16 << 20
		}
		manifest(t, tag, sizes, nil, "")
		hostile = append(hostile, d)
	}
	good := reg.PushRandom(t, "good/app:1")
	key.SignLegacy(t, good)
	c := newClient(t)

	refused := make(chan error, 20*16)
	var res *verify.Result
	var err error
	base, max := memtest.HeapPeak(func() {
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := c.Session(context.Background(), nil, nil)
				var iw sync.WaitGroup
				for _, d := range hostile {
					iw.Add(1)
					go func() {
						defer iw.Done()
						_, err := s.Verify(d, a)
						refused <- err
					}()
				}
				iw.Wait()
			}()
		}
		res, err = c.Session(context.Background(), nil, nil).Verify(good, a)
		wg.Wait()
		close(refused)
	})
	if err != nil || len(res.Signatures) != 1 {
		t.Fatalf("a signed image beside the hostile load: %+v, %v", res, err)
	}
	for err := range refused {
		if err == nil || !strings.Contains(err.Error(), "over the limit of 32 signatures per image") {
			t.Fatalf("a 1,000-layer .sig image: %v", err)
		}
	}
	growth := int64(max) - int64(base)
	t.Logf("heap: %d MiB before, peak %d MiB (+%d MiB) over 320 hostile image lookups; %s", base>>20, max>>20, growth>>20, memtest.PeakRSS())
	if growth > 128<<20 {
		t.Fatalf("the heap grew by %d MiB under the hostile load", growth>>20)
	}
}
