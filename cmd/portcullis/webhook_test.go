package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
)

// TestWebhookMetricsFlags: `portcullis webhook` serves /metrics over HTTPS to scrapers the real
// API server authenticates and authorizes by default, and over plain HTTP only with
// --metrics-secure=false.
func TestWebhookMetricsFlags(t *testing.T) {
	cfg, kubeconfig := envtesting.APIServerKubeconfig(t)
	reader := envtesting.MetricsToken(t, cfg, "monitoring", "prometheus", true)
	const series = "portcullis_cache_hits_total"
	plain := func(addr string) (int, string) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	addr := serveWebhook(t, kubeconfig, "secure-by-default")
	for _, tc := range []struct {
		name   string
		scrape func() (int, string)
		want   int
	}{
		{"HTTPS without a token", func() (int, string) { return envtesting.Scrape(t, addr, "") }, http.StatusUnauthorized},
		{"HTTPS with a metrics reader's token", func() (int, string) { return envtesting.Scrape(t, addr, reader) }, http.StatusOK},
		{"plain HTTP", func() (int, string) { return plain(addr) }, http.StatusBadRequest},
	} {
		if code, body := tc.scrape(); code != tc.want || strings.Contains(body, series) != (tc.want == http.StatusOK) {
			t.Errorf("default flags, %s: status %d, want %d: %.300s", tc.name, code, tc.want, body)
		}
	}

	addr = serveWebhook(t, kubeconfig, "plain", "--metrics-secure=false")
	if code, body := plain(addr); code != http.StatusOK || !strings.Contains(body, series) {
		t.Errorf("--metrics-secure=false, plain HTTP without a token: status %d, want 200 with %s: %.300s", code, series, body)
	}
}

// serveWebhook runs `portcullis webhook` out of cluster with args until the test ends, and
// returns the address of its /metrics once it is ready.
func serveWebhook(t *testing.T, kubeconfig, name string, args ...string) string {
	t.Helper()
	port, metrics, probe := envtesting.FreePort(t), envtesting.FreePort(t), envtesting.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", metrics)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"webhook", "--kubeconfig", kubeconfig, "--port", fmt.Sprint(port),
			"--register-url", fmt.Sprintf("https://127.0.0.1:%d", port), "--webhook-config-name", name,
			"--metrics-bind-address", addr, "--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe),
			"--audit-interval=0", "--log-level=error"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("portcullis webhook %s exited %d", name, code)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("portcullis webhook %s did not stop", name)
		}
	})
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("portcullis webhook %s exited %d", name, code)
		default:
		}
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe)); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
	}
	t.Fatalf("portcullis webhook %s did not become ready", name)
	return ""
}
