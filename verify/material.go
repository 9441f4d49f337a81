package verify

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// bundleMediaTypePrefix starts the artifactType of every Sigstore bundle referrer.
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// emptyConfigType is the artifactType a registry reports for a referrer when it ignores the
// manifest's own artifactType field (go-containerregistry's registry does): it may be a bundle.
const emptyConfigType = "application/vnd.oci.empty.v1+json"

// bundleSet is what the referrers of one digest hold: the Sigstore bundles that could be read,
// and a note for each referrer that claimed to be one and could not.
type bundleSet struct {
	bundles    []*sgbundle.Bundle
	unreadable []string
}

// where returns the repository holding the signatures of d: d's own, or repo when set.
func where(d name.Digest, repo *name.Repository) name.Digest {
	if repo == nil {
		return d
	}
	return repo.Digest(d.DigestStr())
}

func (s *Session) ociOptions(repo *name.Repository) []ociremote.Option {
	opts := []ociremote.Option{ociremote.WithRemoteOptions(s.remote()...)}
	if repo != nil {
		opts = append(opts, ociremote.WithTargetRepository(*repo))
	}
	return opts
}

// legacySet is what the `.sig` or `.att` image of a digest holds: the layers that could be
// read, and a note for each that could not (a certificate annotation that is no certificate,
// say), which is rejected alone and never hides the others.
type legacySet struct {
	layers     []oci.Signature
	unreadable []string
}

// legacy returns the layers of the `sha256-<hex>.sig` (suffix "sig") or `.att` (suffix "att")
// image of d, with their payloads read, or none when there is no such tag.
func (s *Session) legacy(d name.Digest, repo *name.Repository, suffix string) (*legacySet, error) {
	at := where(d, repo)
	key := suffix + "|" + at.String()
	return cached(s, s.c.sigs, at.Context().Registry, "fetching the ."+suffix+" image of "+d.String(), key, func() (*legacySet, bool, error) {
		opts := s.ociOptions(repo)
		tagOf := ociremote.SignatureTag
		if suffix == "att" {
			tagOf = ociremote.AttestationTag
		}
		tag, err := tagOf(d, opts...)
		if err != nil {
			return nil, false, fmt.Errorf("naming the .%s tag of %s: %w", suffix, d, err)
		}
		sigs, err := ociremote.Signatures(tag, opts...)
		if err != nil {
			return nil, false, s.registryError("fetching "+tag.String(), err)
		}
		if err := s.checkLayers(sigs, tag.String()); err != nil {
			return nil, false, err
		}
		layers, err := sigs.Get()
		if err != nil {
			return nil, false, s.registryError("reading "+tag.String(), err)
		}
		set := &legacySet{layers: make([]oci.Signature, 0, len(layers))}
		for i, l := range layers {
			c, err := copyLayer(l)
			switch {
			case err != nil && (s.ctx.Err() != nil || isNetworkError(err)):
				return nil, false, s.registryError("reading a layer of "+tag.String(), err)
			case err != nil:
				set.unreadable = append(set.unreadable, fmt.Sprintf("layer %d of %s is not a readable signature: %v", i, tag, err))
			default:
				set.layers = append(set.layers, c)
			}
		}
		return set, false, nil
	})
}

// checkLayers refuses a .sig or .att image that lists more layers, or more bytes of them, than
// the limits allow, from its manifest alone: before any layer is read.
func (s *Session) checkLayers(sigs oci.Signatures, what string) error {
	m, err := sigs.Manifest()
	if err != nil {
		return s.registryError("reading the manifest of "+what, err)
	}
	lim := s.c.o.limits
	if n := len(m.Layers); n > lim.Signatures {
		return fmt.Errorf("%s lists %d layers, over the limit of %d signatures per image (--max-signatures)", what, n, lim.Signatures)
	}
	var total int64
	for _, l := range m.Layers {
		if l.Size < 0 || l.Size > lim.ImageBytes-total {
			return fmt.Errorf("%s declares more than %d bytes of layers (one of %d bytes), over the limit per image (--max-signature-bytes)", what, lim.ImageBytes, l.Size)
		}
		total += l.Size
	}
	return nil
}

// copyLayer reads a layer's payload and annotations. cosign panics on some malformed
// annotations; that is one bad layer, not a failed lookup.
func copyLayer(l oci.Signature) (c oci.Signature, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed annotations: %v", p)
		}
	}()
	return static.Copy(l)
}

// isNetworkError reports whether err came from reaching the registry rather than from what it
// served.
func isNetworkError(err error) bool {
	var terr *transport.Error
	var uerr *url.Error
	var nerr net.Error
	return errors.As(err, &terr) || errors.As(err, &uerr) || errors.As(err, &nerr)
}

// referrerBundles returns the Sigstore bundles attached to d as OCI referrers, through the
// referrers API or, where the registry has none, the `sha256-<hex>` tag fallback.
func (s *Session) referrerBundles(d name.Digest, repo *name.Repository) (*bundleSet, error) {
	subject := where(d, repo)
	return cached(s, s.c.bundles, subject.Context().Registry, "listing referrers of "+subject.String(), "bundles|"+subject.String(), func() (*bundleSet, bool, error) {
		opts := s.ociOptions(nil)
		idx, err := ociremote.Referrers(subject, "", opts...)
		if err != nil {
			return nil, false, s.registryError("listing referrers of "+subject.String(), err)
		}
		set := &bundleSet{}
		read := 0
		for _, m := range idx.Manifests {
			if !mayBeBundle(m.ArtifactType) {
				continue // an SBOM or other artifact: not ours to read
			}
			if read++; read > s.c.o.limits.Signatures {
				return nil, false, fmt.Errorf("listing referrers of %s: more than %d may be Sigstore bundles, over the limit of %d per image (--max-signatures)",
					subject, s.c.o.limits.Signatures, s.c.o.limits.Signatures)
			}
			ref := subject.Context().Digest(m.Digest.String())
			b, err := ociremote.Bundle(ref, opts...)
			switch {
			case err != nil && (s.ctx.Err() != nil || isNetworkError(err)):
				return nil, false, s.registryError("fetching referrer "+ref.String(), err)
			case err != nil:
				set.unreadable = append(set.unreadable, fmt.Sprintf("referrer %s is not a readable Sigstore bundle: %v", m.Digest, err))
			default:
				set.bundles = append(set.bundles, b)
			}
		}
		return set, false, nil
	})
}

func mayBeBundle(artifactType string) bool {
	return artifactType == "" || artifactType == emptyConfigType || strings.HasPrefix(artifactType, bundleMediaTypePrefix)
}
