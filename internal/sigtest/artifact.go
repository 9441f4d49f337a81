package sigtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// PushArtifact serves artifact's bytes as the manifest of repo:tag, so that the "image"
// digest is the artifact's sha256, and attaches each bundle (JSON, byte for byte) as an OCI
// referrer of it. Sigstore material recorded over a file rather than an image is then found
// and verified exactly as an image's is.
func PushArtifact(t testing.TB, reg *Registry, repoTag string, artifact []byte, bundles ...[]byte) name.Digest {
	t.Helper()
	ref := reg.Ref(t, repoTag)
	// Through the registry API itself: go-containerregistry's client parses what it pushes.
	url := "http://" + reg.Host + "/v2/" + ref.Context().RepositoryStr() + "/manifests/" + ref.Identifier()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(artifact))
	must(t, err)
	req.Header.Set("Content-Type", string(types.OCIManifestSchema1))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing %s: %s", ref, resp.Status)
	}
	sum := sha256.Sum256(artifact)
	d := ref.Context().Digest("sha256:" + hex.EncodeToString(sum[:]))
	for _, b := range bundles {
		must(t, ociremote.WriteAttestationNewBundleFormat(d, b, ""))
	}
	return d
}

// bundleMediaType is the media type of a Sigstore bundle v0.3, as cosign v3 attaches it.
const bundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// AttachToDigest attaches bundle (JSON, byte for byte) to digest h in repo as an OCI referrer,
// as cosign v3 does, though repo need not hold h: verification reads only a digest's
// referrers, so recorded material over files that are not here (GitHub's attestations of
// release jars, say) is verified as an image's would be.
func AttachToDigest(t testing.TB, repo name.Repository, h v1.Hash, bundle []byte) {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), bundleMediaType)
	img, err := mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(bundle, bundleMediaType)})
	must(t, err)
	ref, ok := mutate.Subject(img, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 1}).(v1.Image)
	if !ok {
		t.Fatal("a referrer with a subject is no longer an image")
	}
	d, err := ref.Digest()
	must(t, err)
	must(t, remote.Write(repo.Digest(d.String()), ref))
}
