package image

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Source is the repository the image is built from, for its org.opencontainers.image.source.
const Source = "https://github.com/portcullis-dev/portcullis"

// Options says what to build.
type Options struct {
	// Root is the directory of Portcullis's module.
	Root string
	// Platforms are the images the index holds, each linux/<GOARCH>.
	Platforms []v1.Platform
	// Version is what `portcullis version` prints and the image's version label; Revision is the
	// commit, for the revision label.
	Version, Revision string
	// Created is the images' creation time and every file's time: SOURCE_DATE_EPOCH, so that the
	// same commit builds the same digests.
	Created time.Time
	// Log, when set, is told each step.
	Log func(format string, args ...any)
}

// Build builds the binary for each platform and returns the OCI index of their images.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	if len(o.Platforms) == 0 {
		return nil, fmt.Errorf("no platform to build")
	}
	if o.Version == "" {
		return nil, fmt.Errorf("no version to build: it is what `portcullis version` prints and the image's label")
	}
	fs, err := filesystemLayer(o.Created)
	if err != nil {
		return nil, fmt.Errorf("making the filesystem layer: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		if o.Log != nil {
			o.Log("building portcullis %s for %s", o.Version, p.String())
		}
		img, err := platformImage(ctx, o, p, fs)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.Annotations(idx, o.labels()).(v1.ImageIndex), nil
}

// platformImage is the image for one platform: the shared filesystem layer, then the binary.
func platformImage(ctx context.Context, o Options, p v1.Platform, fs v1.Layer) (v1.Image, error) {
	bin, err := buildBinary(ctx, o.Root, p, o.Version)
	if err != nil {
		return nil, err
	}
	bl, err := binaryLayer(bin, o.Created)
	if err != nil {
		return nil, fmt.Errorf("making the binary layer for %s: %w", p.String(), err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: o.Created}
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: fs, History: v1.History{Created: created, CreatedBy: "portcullis image: CA certificates, user nonroot (65532), /tmp"}},
		mutate.Addendum{Layer: bl, History: v1.History{Created: created, CreatedBy: "portcullis image: go build -trimpath ./cmd/portcullis (CGO_ENABLED=0)"}})
	if err != nil {
		return nil, fmt.Errorf("appending the layers for %s: %w", p.String(), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant, cf.Created = p.OS, p.Architecture, p.Variant, created
	cf.Config = v1.Config{
		Entrypoint: []string{Entrypoint},
		User:       fmt.Sprintf("%d:%d", UID, UID),
		WorkingDir: Home,
		Env:        []string{"PATH=/usr/bin", "HOME=" + Home},
		Labels:     o.labels(),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotations of the image's origin, on each image's config and on the index.
func (o Options) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.source":  Source,
		"org.opencontainers.image.version": o.Version,
		"org.opencontainers.image.created": o.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":   "portcullis",
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

// ParsePlatforms reads a comma-separated list such as linux/amd64,linux/arm64. The image is
// Linux's (its /etc/passwd and CA bundle), so another OS is refused, and so is a variant, which
// would need GOARM or GOAMD64 set to match.
func ParsePlatforms(s string) ([]v1.Platform, error) {
	var ps []v1.Platform
	for _, f := range strings.Split(s, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", f, err)
		}
		if p.OS != "linux" || p.Architecture == "" || p.Variant != "" {
			return nil, fmt.Errorf("platform %q: want linux/<GOARCH> without a variant, such as linux/amd64", f)
		}
		ps = append(ps, *p)
	}
	return ps, nil
}
