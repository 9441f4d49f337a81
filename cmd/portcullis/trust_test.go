package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/tuftest"
)

// TestWebhookTrustFlags: the webhook's /metrics names the public-good root it uses by its
// sha256: with --offline the embedded snapshot; with --tuf-mirror and --tuf-root, the root the
// mirror (a TUF repository on loopback) serves, once fetched; with a mirror that cannot be
// reached, the embedded snapshot, marked stale.
func TestWebhookTrustFlags(t *testing.T) {
	_, kubeconfig := envtesting.APIServerKubeconfig(t)
	newer, err := os.ReadFile("../../test/testdata/sigstore/github/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	repo := tuftest.New(t, newer)
	srv := httptest.NewServer(repo)
	defer srv.Close()
	rootFile := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(rootFile, repo.InitialRoot(), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(nil)
	closed.Close()
	sum := sha256.Sum256(newer)
	const embedded = `sha256="6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"`
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"offline", []string{"--offline"}, []string{`portcullis_trust_root_info{origin="embedded",` + embedded + `,trust_root="public-good",tuf_version="0"} 1`,
			`portcullis_trust_root_stale{health="ok",trust_root="public-good"} 0`}},
		{"mirror", []string{"--tuf-mirror", srv.URL, "--tuf-root", rootFile}, []string{`portcullis_trust_root_info{origin="mirror",sha256="` + hex.EncodeToString(sum[:]) + `",trust_root="public-good",tuf_version="1"} 1`,
			`portcullis_trust_root_stale{health="ok",trust_root="public-good"} 0`, `portcullis_trust_root_expiry_timestamp_seconds{trust_root="public-good"}`}},
		{"mirror unreachable", []string{"--tuf-mirror", closed.URL}, []string{`portcullis_trust_root_info{origin="embedded",` + embedded,
			`portcullis_trust_root_stale{health="failing",trust_root="public-good"} 1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveWebhook(t, kubeconfig, "trust-"+strings.ReplaceAll(tc.name, " ", "-"), append([]string{"--metrics-secure=false"}, tc.args...)...)
			var body string
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				resp, err := http.Get("http://" + addr + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if body = string(b); containsAll(body, tc.wants) {
					return
				}
			}
			t.Fatalf("/metrics never had %q:\n%s", tc.wants, grepLines(body, "portcullis_trust_root"))
		})
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func grepLines(s, part string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
