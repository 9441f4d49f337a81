package preflight_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/internal/tuftest"
	"github.com/portcullis-dev/portcullis/preflight"
	"github.com/portcullis-dev/portcullis/trust"
)

// TestBuiltinRootOffline: with no --trust-root, a keyless policy verifies real public-good
// material with the built-in root. With --offline no mirror is asked; with a mirror that cannot
// be reached it still answers, from the embedded snapshot, and says so; a mirror that serves an
// older root is refused; one that serves a newer root is used (here GitHub's, which does not
// verify public-good signatures, so the verdict shows which root judged).
func TestBuiltinRootOffline(t *testing.T) {
	f := newFixture(t)
	img := f.keylessImage(t)
	pol := f.keylessPolicy(t, "mitr@redhat.com")
	closed := httptest.NewServer(nil)
	closed.Close()
	older, err := os.ReadFile(filepath.Join(sigtest.CosignTestdata(t), "trusted_root_pgi.json"))
	if err != nil {
		t.Fatal(err)
	}
	newer, err := os.ReadFile("../test/testdata/sigstore/github/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(doc []byte) trust.Options {
		repo := tuftest.New(t, doc)
		srv := httptest.NewServer(repo)
		t.Cleanup(srv.Close)
		return trust.Options{PublicGoodMirror: srv.URL, PublicGoodRoot: repo.InitialRoot()}
	}
	for _, tt := range []struct {
		name    string
		trust   trust.Options
		code    int
		stderr  string // "" means no warning at all
		against string
	}{
		{"offline", trust.Options{Offline: true, PublicGoodMirror: closed.URL}, 0, "", ""},
		{"mirror unreachable", trust.Options{PublicGoodMirror: closed.URL}, 0, "trust root public-good could not be refreshed, so the embedded root sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66 is used", ""},
		{"mirror serves an older root", serve(older), 0, "rollback refused: trusted root sha256:", ""},
		{"mirror serves a newer root", serve(newer), 1, "", "rekor log public key not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", preflight.Options{Policies: []string{pol}, Images: []string{img}, Trust: tt.trust})
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.stderr == "" && strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			if !strings.Contains(r.stdout, tt.against) {
				t.Fatalf("stdout %q, want %q", r.stdout, tt.against)
			}
		})
	}
}

// TestNoKeylessNoNetwork: the CLI asks a built-in root's mirror only when a keyless authority
// uses that root; a key policy verifies without a single request to it.
func TestNoKeylessNoNetwork(t *testing.T) {
	f := newFixture(t)
	repo := tuftest.New(t, []byte("{}"))
	srv := httptest.NewServer(repo)
	defer srv.Close()
	r := run(t, "", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, Trust: trust.Options{PublicGoodMirror: srv.URL, PublicGoodRoot: repo.InitialRoot()}})
	if r.code != 0 || repo.Requests() != 0 {
		t.Fatalf("exit %d, %d requests to the mirror; want 0 and none\n%s%s", r.code, repo.Requests(), r.stdout, r.stderr)
	}
}

// BenchmarkFirstVerdict is `portcullis verify --image` from start to verdict, with a keyless
// policy on the built-in public-good root: offline (the embedded snapshot), with a reachable
// mirror (a TUF repository on loopback serving today's root: the TUF workflow, then
// verification), with a mirror that refuses connections, and with one that accepts them and
// never answers (the per-request deadline, 2s here, bounds it).
func BenchmarkFirstVerdict(b *testing.B) {
	f := newFixture(b)
	img := f.keylessImage(b)
	pol := f.keylessPolicy(b, "mitr@redhat.com")
	doc, err := os.ReadFile("../test/testdata/sigstore/root-signing/trusted_root.json")
	if err != nil {
		b.Fatal(err)
	}
	repo := tuftest.New(b, doc)
	srv := httptest.NewServer(repo)
	defer srv.Close()
	refused := httptest.NewServer(nil)
	refused.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer silent.Close()
	go func() { // accept and hold every connection, answering nothing
		var held []net.Conn
		for {
			c, err := silent.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	for _, bc := range []struct {
		name  string
		trust trust.Options
	}{
		{"offline", trust.Options{Offline: true}},
		{"mirror", trust.Options{PublicGoodMirror: srv.URL, PublicGoodRoot: repo.InitialRoot()}},
		{"mirror-refuses", trust.Options{PublicGoodMirror: refused.URL}},
		{"mirror-silent", trust.Options{PublicGoodMirror: "http://" + silent.Addr().String(), Timeout: 2 * time.Second}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				var out, errOut bytes.Buffer
				code := preflight.Run(context.Background(), preflight.Options{Policies: []string{pol}, Images: []string{img}, Trust: bc.trust, Stdout: &out, Stderr: &errOut})
				if code != 0 {
					b.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
				}
			}
		})
	}
}
