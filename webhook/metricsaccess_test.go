package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestMetricsAccess: /metrics is served over HTTPS only to a scraper whose token the real API
// server authenticates (TokenReview) and lets get /metrics (SubjectAccessReview), and the
// series it serves are Portcullis's.
func TestMetricsAccess(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t))
	c := envtesting.Start(t, webhook.Options{MetricsAddr: addr})
	ns := c.Namespace(t, "metrics", nil)
	if err := c.Client.Create(context.Background(), pod(ns, "p", "registry.example/app:1")); err != nil {
		t.Fatal(err)
	}
	stranger := envtesting.MetricsToken(t, c.Config, "scrapers", "stranger", false)
	prometheus := envtesting.MetricsToken(t, c.Config, "scrapers", "prometheus", true)
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a token the API server never issued", "not-a-token", http.StatusUnauthorized},
		{"a service account without get /metrics", stranger, http.StatusForbidden},
		{"a service account bound to the metrics reader", prometheus, http.StatusOK},
		{"the same token again", prometheus, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := envtesting.Scrape(t, addr, tc.token)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
			// The count is the process's: other tests in this binary admit pods too.
			series := `portcullis_admission_requests_total{decision="warned",kind="Pod",operation="CREATE",webhook="validate"} `
			if served := strings.Contains(body, series); served != (code == http.StatusOK) {
				t.Errorf("status %d, and the body has %s: %v", code, series, served)
			}
		})
	}
	// Plain HTTP is not served at all.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP served /metrics: %.200s", b)
		}
	}
}

// TestMetricsUnsafeHTTP: only UnsafeMetricsHTTP serves /metrics over plain HTTP, to anyone.
func TestMetricsUnsafeHTTP(t *testing.T) {
	cfg := envtesting.APIServer(t)
	port := envtesting.FreePort(t)
	dir := t.TempDir()
	if _, err := webhook.SelfSignedCert(fmt.Sprintf("https://127.0.0.1:%d", port), dir); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t))
	r := envtesting.RunReplica(t, cfg, webhook.Options{Port: port, CertDir: dir, ProbeAddr: fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t)),
		MetricsAddr: addr, UnsafeMetricsHTTP: true, NoMatch: policy.NoMatchWarn, InstallNamespace: installNS})
	eventually(t, 60*time.Second, "the replica to be ready", r.Ready)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "portcullis_cache_hits_total") {
		t.Errorf("plain HTTP without a token: status %d, want 200 with Portcullis's series: %.300s", resp.StatusCode, b)
	}
}
