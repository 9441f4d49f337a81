package policy

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// maxReferenceLength bounds an image reference; anything longer is refused before parsing.
const maxReferenceLength = 1024

// Image is a parsed image reference.
type Image struct {
	// Raw is the reference as written in the object.
	Raw string
	// Ref is the parsed reference: a name.Digest when Raw is pinned.
	Ref name.Reference
	// Repo is the normalized registry/repository that globs match, e.g.
	// index.docker.io/library/nginx.
	Repo       string
	Registry   string
	Repository string
	Tag        string
	// Digest is the digest written in Raw, if any.
	Digest string
}

// ParseImage parses and normalizes an image reference as the kubelet would pull it.
func ParseImage(raw string) (*Image, error) {
	if raw == "" {
		return nil, fmt.Errorf("image reference is empty")
	}
	if len(raw) > maxReferenceLength {
		return nil, fmt.Errorf("image reference is %d bytes long, over the limit of %d", len(raw), maxReferenceLength)
	}
	ref, err := name.ParseReference(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", raw, err)
	}
	img := &Image{
		Raw:        raw,
		Ref:        ref,
		Repo:       ref.Context().Name(),
		Registry:   ref.Context().RegistryStr(),
		Repository: ref.Context().RepositoryStr(),
	}
	switch r := ref.(type) {
	case name.Tag:
		img.Tag = r.TagStr()
	case name.Digest:
		img.Digest = r.DigestStr()
		base, _, _ := strings.Cut(raw, "@")
		if t, err := name.NewTag(base); err == nil && strings.Contains(base[strings.LastIndex(base, "/")+1:], ":") {
			img.Tag = t.TagStr()
		}
	}
	return img, nil
}

// Pinned returns the reference pinned to digest: repo:tag@digest as written, keeping the tag.
func (img *Image) Pinned(digest string) string {
	if img.Digest != "" {
		return img.Raw
	}
	return img.Raw + "@" + digest
}
