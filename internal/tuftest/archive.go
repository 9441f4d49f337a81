package tuftest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"sort"
)

// Archive serializes the repository as a gzipped tar of what its mirror serves, as
// `tar -C DIR -czf repo.tgz .` would.
func (r *Repo) Archive() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(r.files))
	for n := range r.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: "./" + n, Mode: 0o644, Size: int64(len(r.files[n])), Typeflag: tar.TypeReg}); err != nil {
			r.t.Fatal(err)
		}
		if _, err := tw.Write(r.files[n]); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		r.t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		r.t.Fatal(err)
	}
	return buf.Bytes()
}

// Base64 encodes b as a TrustRoot's spec.tuf fields take it.
func Base64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
