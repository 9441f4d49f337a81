package verify_test

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

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// fixtures holds the real signatures of containers/image (see test/testdata/sigstore/PROVENANCE.md).
const fixtures = "../test/testdata/sigstore/containers-image/signature/fixtures"

// rawManifest is a manifest pushed byte for byte, so its digest is the one that was signed.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// pushFixture serves one dir-img-cosign-* folder: its manifest as repo:latest, and its
// signature-N files as the layers of the `sha256-<hex>.sig` image, annotations and all but
// those named in drop.
func pushFixture(t *testing.T, reg *sigtest.Registry, dir string, drop ...string) name.Digest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures, dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mt struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &mt); err != nil {
		t.Fatal(err)
	}
	if mt.MediaType == "" {
		mt.MediaType = types.DockerManifestSchema1Signed
	}
	repo := reg.Ref(t, "fixtures/"+dir+strings.Join(drop, "")).Context()
	if err := remote.Put(repo.Tag("latest"), rawManifest{raw: raw, mt: mt.MediaType}); err != nil {
		t.Fatalf("pushing %s manifest: %v", dir, err)
	}
	sum := sha256.Sum256(raw)
	d := repo.Digest("sha256:" + hex.EncodeToString(sum[:]))

	sigFiles, _ := filepath.Glob(filepath.Join(fixtures, dir, "signature-*"))
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

func fixtureKey(t *testing.T, file string) *verify.PublicKey {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(fixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	k, err := verify.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRecordedSignatures verifies real signatures made by others with cosign, with the results
// PROVENANCE.md records for them.
func TestRecordedSignatures(t *testing.T) {
	reg := sigtest.NewRegistry(t, false)
	c := newClient(t)
	tests := []struct {
		dir, key string
		tlog     bool
		want     string // "" is verified; otherwise a substring of the failure
	}{
		{"dir-img-cosign-valid", "cosign.pub", false, ""},
		{"dir-img-cosign-valid", "cosign.pub", true, "no transparency log entry"},
		{"dir-img-cosign-valid", "cosign2.pub", false, "signed by another key"},
		{"dir-img-cosign-valid-2", "cosign.pub", false, ""},
		{"dir-img-cosign-valid-with-tag", "cosign.pub", false, ""},
		{"dir-img-cosign-mixed", "cosign.pub", false, ""},
		{"dir-img-cosign-modified-manifest", "cosign.pub", false, "names another image digest"},
		{"dir-img-cosign-manifest-digest-error", "cosign.pub", false, "none matched"},
		{"dir-img-cosign-other-attachment", "cosign.pub", false, "none matched"},
		{"dir-img-cosign-key-rekor-valid", "cosign2.pub", false, ""},
		{"dir-img-cosign-key-rekor-valid", "cosign2.pub", true, ""},
		{"dir-img-cosign-key-rekor-valid", "cosign.pub", false, "signed by another key"},
	}
	for _, tt := range tests {
		name := tt.dir + "/" + tt.key + map[bool]string{true: "/tlog-required", false: "/tlog-ignored"}[tt.tlog]
		t.Run(name, func(t *testing.T) {
			d := pushFixture(t, reg, tt.dir)
			a := &verify.Authority{Name: "fixture", Key: fixtureKey(t, tt.key), RequireTlog: tt.tlog}
			res, err := session(t, c).Verify(d, a)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify(%s) = %v, want verified", d, err)
				}
				if len(res.Signatures) == 0 {
					t.Fatal("no signature reported")
				}
				return
			}
			if !verify.IsFailure(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify(%s) = %v; want a failure containing %q", d, err, tt.want)
			}
		})
	}
}
