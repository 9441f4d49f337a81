package sigtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
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
