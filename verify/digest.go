package verify

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Digest resolves ref to the digest it names now. A reference that is already pinned is
// returned without asking the registry. Answers for tags are cached for the digest TTL.
func (s *Session) Digest(ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	return cached(s, s.c.digests, ref.Context().Registry, "resolving digest of "+ref.String(), ref.Name(), func() (name.Digest, bool, error) {
		d, err := s.head(ref)
		return d, false, err
	})
}

func (s *Session) head(ref name.Reference) (name.Digest, error) {
	desc, err := remote.Head(ref, s.remote()...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusMethodNotAllowed {
		// Some registries refuse HEAD on manifests; a GET answers the same question.
		var d *remote.Descriptor
		if d, err = remote.Get(ref, s.remote()...); err == nil {
			desc = &d.Descriptor
		}
	}
	if err != nil {
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return name.Digest{}, fmt.Errorf("resolving digest of %s: no such image or tag in the registry", ref)
		}
		return name.Digest{}, s.registryError("resolving digest of "+ref.String(), err)
	}
	return ref.Context().Digest(desc.Digest.String()), nil
}
