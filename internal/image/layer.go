package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file or directory of a layer. Owner and group are numeric: the image has no
// name service to map names.
type entry struct {
	path     string // relative to the root: etc/passwd, tmp/
	mode     int64  // permission bits, with the sticky bit where it applies
	uid, gid int
	dir      bool
	body     []byte
}

// newLayer writes entries, in order, into a gzipped OCI layer. Every header has the time
// created and nothing else that varies, so the same entries always make the same digest.
func newLayer(entries []entry, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.path, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing the tar header of %s: %w", e.path, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("writing %s into its layer: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing a layer's tar: %w", err)
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// dirs returns directory entries owned by root, mode 0755, for each path given.
func dirs(paths ...string) []entry {
	es := make([]entry, len(paths))
	for i, p := range paths {
		es[i] = entry{path: p, mode: 0o755, dir: true}
	}
	return es
}
