package e2e

import (
	"archive/tar"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/portcullis-dev/portcullis/internal/image"
)

// files is an image's filesystem as its layers lay it out, by absolute path.
type files map[string]file

type file struct {
	mode int64
	uid  int
	body []byte
}

// imageFiles pulls this machine's platform of the index at ref, checks its config, and returns
// its files after checking those a runtime needs.
func imageFiles(t *testing.T, ref name.Digest) files {
	t.Helper()
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		t.Fatalf("the %s image in %s: %v", runtime.GOARCH, ref, err)
	}
	if im, _ := idx.IndexManifest(); len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("index %s holds %+v, want the one image for linux/%s", ref, im.Manifests, runtime.GOARCH)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	uid := checkUser(t, cf.Config.User)
	fs := extract(t, img)
	if len(cf.Config.Entrypoint) != 1 {
		t.Fatalf("entrypoint %q, want the binary alone", cf.Config.Entrypoint)
	}
	if f, ok := fs[cf.Config.Entrypoint[0]]; !ok || f.mode&0o111 != 0o111 {
		t.Fatalf("entrypoint %s: in the layers %v, mode %o; want an executable file", cf.Config.Entrypoint[0], ok, f.mode)
	}
	if !strings.Contains(string(fs["/etc/passwd"].body), ":x:"+strconv.Itoa(uid)+":") {
		t.Errorf("/etc/passwd has no entry for user %d:\n%s", uid, fs["/etc/passwd"].body)
	}
	if wd := fs[cf.Config.WorkingDir]; wd.uid != uid {
		t.Errorf("working directory %q is owned by %d, want the user %d (or is missing)", cf.Config.WorkingDir, wd.uid, uid)
	}
	if tmp := fs["/tmp"]; tmp.mode != 0o1777 {
		t.Errorf("/tmp has mode %o, want 1777", tmp.mode)
	}
	if n := countCerts(t, fs[image.CAFile].body); n <= 100 {
		t.Errorf("%s holds %d certificates, want the Mozilla roots (over 100)", image.CAFile, n)
	}
	return fs
}

// checkUser requires a numeric uid:gid that is not root, and returns the uid.
func checkUser(t *testing.T, user string) int {
	t.Helper()
	u, g, ok := strings.Cut(user, ":")
	uid, uerr := strconv.Atoi(u)
	_, gerr := strconv.Atoi(g)
	if !ok || uerr != nil || gerr != nil || uid == 0 {
		t.Fatalf("config User %q, want a numeric uid:gid that is not root (a pod's runAsNonRoot needs a number)", user)
	}
	return uid
}

// extract reads the image's flattened filesystem.
func extract(t *testing.T, img v1.Image) files {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	fs := files{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fs
		} else if err != nil {
			t.Fatalf("reading the image's layers: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		fs["/"+strings.Trim(h.Name, "/")] = file{mode: h.Mode, uid: h.Uid, body: body}
	}
}

// write copies the file at path into dir, with its mode in the image, and returns where.
func (fs files) write(t *testing.T, path, dir string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(out, fs[path].body, os.FileMode(fs[path].mode)&os.ModePerm); err != nil {
		t.Fatal(err)
	}
	return out
}

// countCerts parses every PEM block of a CA bundle as a certificate.
func countCerts(t *testing.T, bundle []byte) int {
	t.Helper()
	n := 0
	for block, rest := pem.Decode(bundle); block != nil; block, rest = pem.Decode(rest) {
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("certificate %d of %s: %v", n+1, image.CAFile, err)
		}
		n++
	}
	return n
}
