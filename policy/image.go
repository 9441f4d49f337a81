package policy

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/verify"
)

// maxReferenceLength bounds an image reference; anything longer is refused before parsing.
const maxReferenceLength = 1024

// Image is a parsed image reference: as written, and in its canonical form, the one spelling of
// its registry and repository that globs match and caches, reports and metrics are keyed by.
type Image struct {
	// Raw is the reference as written in the object.
	Raw string
	// Ref is the canonical reference, a name.Digest when Raw is pinned: what registries are
	// asked about.
	Ref name.Reference
	// Canonical is Ref written out, keeping a tag written beside a digest:
	// index.docker.io/library/nginx:1.27@sha256:...
	Canonical string
	// Repo is the canonical registry/repository that globs match, e.g.
	// index.docker.io/library/nginx.
	Repo string
	// Registry and Repository are Repo's two parts.
	Registry   string
	Repository string
	Tag        string
	// Digest is the digest written in Raw, if any.
	Digest string
}

// ParseImage parses an image reference as the kubelet would pull it, and canonicalizes it
// (verify.CanonicalRepository): GHCR.IO:443/acme/app and ghcr.io./acme/app are ghcr.io/acme/app,
// and Docker Hub's every name is index.docker.io.
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
	repo, err := verify.CanonicalRepository(ref.Context())
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", raw, err)
	}
	img := &Image{Raw: raw, Repo: repo.Name(), Registry: repo.RegistryStr(), Repository: repo.RepositoryStr()}
	img.Canonical = img.Repo
	switch r := ref.(type) {
	case name.Tag:
		img.Tag, img.Ref = r.TagStr(), repo.Tag(r.TagStr())
		img.Canonical += ":" + img.Tag
	case name.Digest:
		img.Digest, img.Ref = r.DigestStr(), repo.Digest(r.DigestStr())
		base, _, _ := strings.Cut(raw, "@")
		if t, err := name.NewTag(base); err == nil && strings.Contains(base[strings.LastIndex(base, "/")+1:], ":") {
			img.Tag = t.TagStr()
			img.Canonical += ":" + img.Tag
		}
		img.Canonical += "@" + img.Digest
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

// Written returns the registry and repository as Raw writes them: the registry is "" when Raw
// names none (Docker Hub), and neither is canonical.
func (img *Image) Written() (registry, repository string) {
	base, _, _ := strings.Cut(img.Raw, "@")
	if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		base = base[:i]
	}
	first, rest, ok := strings.Cut(base, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return "", base
}
