package trust_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/tuftest"
	"github.com/portcullis-dev/portcullis/trust"
)

// Real trusted roots, oldest first by the newest key they list: 2022-10-20, 2025-09-23 and
// 2026-06-12.
var (
	root2022 = readFile("../test/testdata/sigstore/cosign/pkg/cosign/testdata/trusted_root_pgi.json")
	root2025 = readFile("../test/testdata/sigstore/root-signing/trusted_root.json")
	root2026 = readFile("../test/testdata/sigstore/github/trusted_root.json")
)

func readFile(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mirror serves a new TUF repository publishing content on loopback.
func mirror(t *testing.T, content []byte) (*tuftest.Repo, string) {
	repo := tuftest.New(t, content)
	repo.SetTarget(content) // version 2, so that there is an older version to roll back to
	srv := httptest.NewServer(repo)
	t.Cleanup(srv.Close)
	return repo, srv.URL
}

// wantRoot fails unless the source holds doc, with no error, or (errPart set) with an error
// naming errPart.
func wantRoot(t *testing.T, st trust.Status, doc []byte, errPart string) {
	t.Helper()
	if st.Root == nil || st.Root.SHA256 != digest(doc) {
		t.Fatalf("root %+v, want sha256 %s", st.Root, digest(doc)[:12])
	}
	switch {
	case errPart == "" && st.Err != nil:
		t.Fatalf("error %v, want none", st.Err)
	case errPart != "" && (st.Err == nil || !strings.Contains(st.Err.Error(), errPart)):
		t.Fatalf("error %v, want one naming %q", st.Err, errPart)
	}
}

// source fetches a TrustRoot's mirror the first time, as the CLI does, and returns it.
func source(t *testing.T, reg *trust.Registry, name, url string, initial []byte) *trust.Source {
	t.Helper()
	if _, _, err := reg.TUF(name, url, initial, nil); err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	s := reg.Source(name)
	if s == nil {
		t.Fatal("no source after a fetch")
	}
	return s
}

// TestMirror runs the TUF client against a real repository on loopback through the updates
// and attacks a mirror can present. Each step refreshes once and checks which root is held and
// why a refused update was refused.
func TestMirror(t *testing.T) {
	for _, tt := range []struct {
		name    string
		attack  func(*tuftest.Repo)
		want    []byte
		errPart string
		tufRoot int64
	}{
		{"key rotation: root v1 to v2 with a new trusted_root target", func(r *tuftest.Repo) { r.RotateRoot(); r.SetTarget(root2026) }, root2026, "", 2},
		{"expired timestamp refused, last good root kept", func(r *tuftest.Repo) { r.SetTarget(root2026); r.ExpireTimestamp() }, root2025, "timestamp.json is expired", 1},
		{"older snapshot version refused", func(r *tuftest.Repo) { r.RollBackSnapshot() }, root2025, "rollback refused: snapshot version 1 is older than version 2, verified before", 1},
		{"tampered target refused", func(r *tuftest.Repo) { r.SetTarget(root2026); r.TamperTarget(root2022) }, root2025, "length", 1},
		{"validly signed older trusted root refused", func(r *tuftest.Repo) { r.SetTarget(root2022) }, root2025, "rollback refused: trusted root sha256:" + digest(root2022), 1},
		{"mirror unreachable, last good root kept", func(r *tuftest.Repo) { r.SetDown(true) }, root2025, "EOF", 1},
		{"malformed timestamp refused (go-tuf v2.3 panicked on it; v2.4 refuses it)", func(r *tuftest.Repo) { r.Replace("timestamp.json", []byte(`{"signed": null}`)) }, root2025, "metadata 'signed' field is missing", 1},
		{"timestamp that is not an object refused", func(r *tuftest.Repo) { r.Replace("timestamp.json", []byte(`[]`)) }, root2025, "cannot unmarshal array", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, url := mirror(t, root2025)
			reg := trust.NewRegistry(trust.Options{})
			s := source(t, reg, "corp", url, repo.InitialRoot())
			wantRoot(t, s.Status(), root2025, "")
			tt.attack(repo)
			err := s.Refresh()
			if (err == nil) != (tt.errPart == "") {
				t.Fatalf("refresh: %v", err)
			}
			st := s.Status()
			wantRoot(t, st, tt.want, tt.errPart)
			if st.TUFVersion != tt.tufRoot {
				t.Fatalf("TUF root version %d, want %d", st.TUFVersion, tt.tufRoot)
			}
			if root, _, err := reg.TUF("corp", url, repo.InitialRoot(), nil); err != nil || root.SHA256 != digest(tt.want) {
				t.Fatalf("policies get %v, %v; want the root held", root, err)
			}
		})
	}
}

// TestMirrorDownAtStart: nothing verified yet means no root at all (fail closed), until the
// mirror answers.
func TestMirrorDownAtStart(t *testing.T) {
	repo, url := mirror(t, root2025)
	repo.SetDown(true)
	reg := trust.NewRegistry(trust.Options{})
	if _, st, err := reg.TUF("corp", url, repo.InitialRoot(), nil); err == nil || st.Root != nil || !strings.Contains(err.Error(), "no verified trusted root yet") {
		t.Fatalf("mirror down at start: root %v, error %v", st.Root, err)
	}
	repo.SetDown(false)
	s := reg.Source("corp")
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
	wantRoot(t, s.Status(), root2025, "")
}

// TestExpiredAtFirstFetch: a mirror whose timestamp has expired gives no root.
func TestExpiredAtFirstFetch(t *testing.T) {
	repo, url := mirror(t, root2025)
	repo.ExpireTimestamp()
	if _, _, err := trust.NewRegistry(trust.Options{}).TUF("corp", url, repo.InitialRoot(), nil); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("error %v, want expired", err)
	}
}

// TestBadInitialRoot: a repository whose keys the initial root does not name gives no root.
func TestBadInitialRoot(t *testing.T) {
	_, url := mirror(t, root2025)
	other := tuftest.New(t, root2025)
	if _, _, err := trust.NewRegistry(trust.Options{}).TUF("corp", url, other.InitialRoot(), nil); err == nil {
		t.Fatal("a repository signed by keys the initial root does not name was trusted")
	}
	if _, _, err := trust.NewRegistry(trust.Options{}).TUF("corp", url, []byte("{}"), nil); err == nil || !strings.Contains(err.Error(), "initial TUF root") {
		t.Fatalf("error %v, want one about the initial TUF root", err)
	}
}

// TestPrivateCA: a mirror whose TLS certificate chains to a private CA is trusted only when
// that CA is given.
func TestPrivateCA(t *testing.T) {
	repo := tuftest.New(t, root2025)
	srv := httptest.NewTLSServer(repo)
	defer srv.Close()
	if _, _, err := trust.NewRegistry(trust.Options{}).TUF("corp", srv.URL, repo.InitialRoot(), nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	root, _, err := trust.NewRegistry(trust.Options{CAs: ca}).TUF("corp", srv.URL, repo.InitialRoot(), nil)
	if err != nil || root.SHA256 != digest(root2025) {
		t.Fatalf("with the CA: %v, %v", root, err)
	}
	if _, _, err := trust.NewRegistry(trust.Options{CAs: []byte("no pem")}).TUF("corp", srv.URL, repo.InitialRoot(), nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a CA file with no certificate: %v", err)
	}
}
