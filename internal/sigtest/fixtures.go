package sigtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// Fixtures is the folder of the containers/image cosign fixtures (see
// test/testdata/sigstore/PROVENANCE.md).
func Fixtures(t testing.TB) string {
	return filepath.Join(tooltest.Root(t), "test/testdata/sigstore/containers-image/signature/fixtures")
}

// CosignTestdata is the folder of cosign's recorded bundle and trusted root.
func CosignTestdata(t testing.TB) string {
	return filepath.Join(tooltest.Root(t), "test/testdata/sigstore/cosign/pkg/cosign/testdata")
}

// rawManifest is a manifest pushed byte for byte, so its digest is the one that was signed.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// PushFixture serves one dir-img-cosign-* folder: its manifest as repo:latest, and its
// signature-N files as the layers of the `sha256-<hex>.sig` image, annotations and all but
// those named in drop.
func PushFixture(t testing.TB, reg *Registry, dir string, drop ...string) name.Digest {
	t.Helper()
	repo := reg.Ref(t, "fixtures/"+dir+strings.Join(drop, "")).Context()
	raw, err := os.ReadFile(filepath.Join(Fixtures(t), dir, "manifest.json"))
	var d name.Digest
	switch {
	case os.IsNotExist(err):
		// A signature without its image (dir-img-cosign-no-manifest): it is attached to an
		// image it was not made for.
		d = reg.PushRandom(t, "fixtures/"+dir+":latest")
	case err != nil:
		t.Fatal(err)
	default:
		var mt struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		if err := json.Unmarshal(raw, &mt); err != nil {
			t.Fatal(err)
		}
		if mt.MediaType == "" {
			mt.MediaType = types.DockerManifestSchema1Signed
		}
		if err := remote.Put(repo.Tag("latest"), rawManifest{raw: raw, mt: mt.MediaType}); err != nil {
			t.Fatalf("pushing %s manifest: %v", dir, err)
		}
		sum := sha256.Sum256(raw)
		d = repo.Digest("sha256:" + hex.EncodeToString(sum[:]))
	}

	sigFiles, _ := filepath.Glob(filepath.Join(Fixtures(t), dir, "signature-*"))
	sort.Strings(sigFiles)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, f := range sigFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sig struct {
			MimeType    string            `json:"mimeType"`
			Payload     string            `json:"payload"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(bytes.TrimPrefix(b, []byte("\x00sigstore-json\n")), &sig); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, k := range drop {
			delete(sig.Annotations, k)
		}
		payload, err := base64.StdEncoding.DecodeString(sig.Payload)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(payload, types.MediaType(sig.MimeType)),
			Annotations: sig.Annotations,
			MediaType:   types.MediaType(sig.MimeType),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sigTag := repo.Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	if err := remote.Write(sigTag, img); err != nil {
		t.Fatalf("pushing %s: %v", sigTag, err)
	}
	return d
}
