package trust

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// MaxRepositoryBytes bounds a serialized repository once unpacked: a TrustRoot holds at most
// about 1 MiB compressed, and TUF metadata and a trusted root are small.
const MaxRepositoryBytes = 16 << 20

// ReadRepository unpacks a serialized TUF repository: a gzipped tar of the directory a mirror
// serves (N.root.json, timestamp.json, N.snapshot.json, N.targets.json, targets/...), as
// `tar -C DIR -czf repo.tgz .` writes it.
func ReadRepository(tgz []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("reading TUF repository archive: %w", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, MaxRepositoryBytes+1))
	files := map[string][]byte{}
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading TUF repository archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s from TUF repository archive: %w", name, err)
		}
		if total += len(data); total > MaxRepositoryBytes {
			return nil, fmt.Errorf("TUF repository archive is larger than %d bytes unpacked", MaxRepositoryBytes)
		}
		files[name] = data
	}
	if len(files) == 0 {
		return nil, errors.New("TUF repository archive holds no files")
	}
	return files, nil
}
