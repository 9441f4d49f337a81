package verify

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInsecureRegistries: a listed registry is reached over plain HTTP where HTTPS was asked;
// any other is not.
func TestInsecureRegistries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tt := range []struct {
		insecure []string
		ok       bool
	}{{[]string{host}, true}, {[]string{"other.example:5000"}, false}, {nil, false}} {
		var opts []Option
		if tt.insecure != nil {
			opts = append(opts, WithInsecureRegistries(tt.insecure...))
		}
		c, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/v2/", nil)
		resp, err := c.transport.RoundTrip(req)
		if tt.ok && (err != nil || resp.StatusCode != http.StatusNoContent) {
			t.Fatalf("insecure %v: %v, %v", tt.insecure, resp, err)
		}
		if !tt.ok && err == nil {
			t.Fatalf("insecure %v: plain HTTP reached without being listed", tt.insecure)
		}
	}
}
