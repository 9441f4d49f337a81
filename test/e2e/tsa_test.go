package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tsaserver "github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// timestampAuthority runs sigstore's timestamp-authority server, with its in-memory signer,
// in-process on loopback, and returns its URL and its certificate chain (PEM).
func timestampAuthority(t *testing.T) (string, []byte) {
	t.Helper()
	// The server reads its configuration from viper, as its command does.
	viper.Set("timestamp-signer", "memory")
	viper.Set("timestamp-signer-hash", "sha256")
	viper.Set("default-policy-oid", "1.3.6.1.4.1.57264.2")
	viper.Set("accepted-policy-oids", []string{"1.3.6.1.4.1.57264.2"})
	viper.Set("include-chain-in-response", true)
	api := tsaserver.NewRestAPIServer("127.0.0.1", 0, []string{"http"}, false, 10*time.Second, 10*time.Second)
	srv := httptest.NewServer(api.GetHandler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/api/v1/timestamp/certchain")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	chain, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the TSA's chain: %s, %v", resp.Status, err)
	}
	return srv.URL, chain
}

// TestAgreesWithCosignTSA: the real cosign CLI signs and attests in the bundle format with a
// signing config whose timestamp authority is a real one on loopback (and no transparency
// log); `cosign verify` with a trusted root naming that TSA, requiring signed timestamps, and
// `portcullis verify` reach the same verdict on each image.
func TestAgreesWithCosignTSA(t *testing.T) {
	bin := portcullis(t)
	dir := t.TempDir()
	tsaURL, chain := timestampAuthority(t)
	if err := os.WriteFile(filepath.Join(dir, "tsa.pem"), chain, 0o644); err != nil {
		t.Fatal(err)
	}
	mustCosign(t, dir, "generate-key-pair", "--output-key-prefix", "release")
	mustCosign(t, dir, "generate-key-pair", "--output-key-prefix", "other")
	mustCosign(t, dir, "signing-config", "create", "--tsa", "url="+tsaURL+"/api/v1/timestamp,api-version=1,start-time=2024-01-01T00:00:00Z,operator=portcullis.test", "--tsa-config", "ANY", "--out", "sc.json")
	mustCosign(t, dir, "trusted-root", "create", "--tsa", "url="+tsaURL+"/api/v1/timestamp,certificate-chain=tsa.pem", "--out", "tr.json")
	mustCosign(t, dir, "trusted-root", "create", "--fulcio", "url=https://fulcio.invalid,certificate-chain=tsa.pem", "--out", "no-tsa.json")
	os.WriteFile(filepath.Join(dir, "provenance.json"), []byte(`{"buildDefinition": {"buildType": "https://slsa-framework/github-actions"}, "runDetails": {}}`), 0o644)

	host := sigtest.NewRegistry(t, true).Host
	images := map[string]string{}
	push := func(id string) string {
		images[id] = pushRandom(t, host, "tsa/"+id)
		return images[id]
	}
	mustCosign(t, dir, "sign", "--key", "release.key", "--signing-config", "sc.json", "--trusted-root", "tr.json", "--yes", push("signed"))
	mustCosign(t, dir, "sign", "--key", "other.key", "--signing-config", "sc.json", "--trusted-root", "tr.json", "--yes", push("other"))
	mustCosign(t, dir, "attest", "--key", "release.key", "--signing-config", "sc.json", "--trusted-root", "tr.json", "--yes",
		"--type", "slsaprovenance1", "--predicate", "provenance.json", push("attested"))
	push("unsigned")

	cases := []struct {
		image, predicate, root string
		want                   bool
	}{
		{"signed", "", "tr.json", true},
		{"other", "", "tr.json", false},
		{"unsigned", "", "tr.json", false},
		{"attested", "slsaprovenance1", "tr.json", true},
		{"attested", "cyclonedx", "tr.json", false},
	}
	for _, c := range cases {
		t.Run(c.image+"/"+c.predicate, func(t *testing.T) {
			ref := images[c.image]
			args := []string{"verify", "--key", "release.pub", "--trusted-root", c.root, "--insecure-ignore-tlog=true", "--use-signed-timestamps", ref}
			if c.predicate != "" {
				args = []string{"verify-attestation", "--key", "release.pub", "--trusted-root", c.root, "--insecure-ignore-tlog=true", "--use-signed-timestamps", "--type", c.predicate, ref}
			}
			out, cerr := cosign(t, dir, args...)
			if (cerr == nil) != c.want {
				t.Fatalf("cosign %s: err %v, want verified=%v\n%s", strings.Join(args, " "), cerr, c.want, out)
			}
			pol := policyFile(t, dir, host+"/**", c.predicate)
			pout, code := exitCode(t, exec.Command(bin, "verify", "--policy", pol, "--image", ref, "--trust-root", filepath.Join(dir, c.root), "-o", "json"))
			if want := map[bool]int{true: 0, false: 1}[c.want]; code != want {
				t.Fatalf("portcullis verify exit %d, cosign says verified=%v\n%s", code, c.want, pout)
			}
		})
	}
	// The timestamps are really there and checked: without the TSA in its root, cosign refuses.
	if out, err := cosign(t, dir, "verify", "--key", "release.pub", "--trusted-root", "no-tsa.json", "--insecure-ignore-tlog=true", "--use-signed-timestamps", images["signed"]); err == nil {
		t.Fatalf("cosign verified a timestamped signature against a root without its TSA:\n%s", out)
	}
}
