package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// TestCertificateAuthorityWithCosign signs with the real cosign CLI as an organization does
// with its own PKI (cosign sign --key --certificate, with --certificate-chain in the legacy
// format, no log), and requires `portcullis verify` with keyless.certificateAuthority to admit
// the CA's leaf and deny another CA's, checked at admission time.
func TestCertificateAuthorityWithCosign(t *testing.T) {
	bin := portcullis(t)
	dir := t.TempDir()
	corp, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	write := func(file string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	build := sigtest.Identity{Subject: "build@corp.example", NoIssuer: true, NoSCT: true, Lifetime: 24 * time.Hour}
	other := build
	other.UntrustedCA = true
	for prefix, id := range map[string]sigtest.Identity{"corp": build, "other": other} {
		cert, chain, key, err := corp.IssueLeaf(id)
		if err != nil {
			t.Fatal(err)
		}
		write(prefix+"-leaf.pem", cert)
		write(prefix+"-chain.pem", chain)
		write(prefix+"-ec.pem", key)
		mustCosign(t, dir, "import-key-pair", "--key", prefix+"-ec.pem", "--output-key-prefix", prefix)
	}

	host := sigtest.NewRegistry(t, true).Host
	policy := filepath.Join(dir, "policy.yaml")
	write("policy.yaml", []byte(`apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: corp-pki}
spec:
  images: [{glob: "`+host+`/**"}]
  authorities:
  - name: corp-pki
    tlog: ignore
    keyless:
      certificateAuthority:
        certificateChain: |
          `+strings.ReplaceAll(strings.TrimSpace(string(corp.ChainPEM())), "\n", "\n          ")+`
      identities:
      - subject: build@corp.example
`))
	for _, format := range []string{"legacy", "bundle", "bundle-with-chain"} {
		for _, signer := range []string{"corp", "other"} {
			t.Run(format+"/"+signer, func(t *testing.T) {
				ref := pushRandom(t, host, format+"-"+signer)
				args := []string{"sign", "--yes", "--key", signer + ".key", "--certificate", signer + "-leaf.pem", "--use-signing-config=false", "--tlog-upload=false"}
				switch format {
				case "legacy":
					args = append(args, "--certificate-chain", signer+"-chain.pem", "--new-bundle-format=false")
				case "bundle-with-chain":
					args = append(args, "--certificate-chain", signer+"-chain.pem")
				}
				mustCosign(t, dir, append(args, ref)...)
				out, code := exitCode(t, exec.Command(bin, "verify", "--policy", policy, "--image", ref, "-o", "json"))
				switch {
				case format == "bundle-with-chain":
					// cosign v3 writes the chain into a v0.3 bundle, which sigstore-go refuses
					// to read; the image is denied, saying so.
					if code != 1 || !strings.Contains(string(out), "verification material cannot be X.509 certificate chain") {
						t.Fatalf("a v0.3 bundle with a chain: portcullis verify exit %d, want 1 saying the bundle holds a chain\n%s", code, out)
					}
				case signer == "corp" && code != 0:
					t.Fatalf("the CA's leaf: portcullis verify exit %d\n%s", code, out)
				case signer == "other" && (code != 1 || !strings.Contains(string(out), "leaf certificate verification failed")):
					t.Fatalf("another CA's leaf: portcullis verify exit %d, want 1 saying its chain failed\n%s", code, out)
				}
			})
		}
	}
}
