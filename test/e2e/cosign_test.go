package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
)

// TestAgreesWithCosign signs and attests with the real cosign CLI, in the legacy format and in
// cosign v3's bundle format, on a registry with the referrers API and on one without, and
// requires `portcullis verify` to reach the same verdict as `cosign verify` on every case.
func TestAgreesWithCosign(t *testing.T) {
	bin := portcullis(t)
	dir := t.TempDir()
	mustCosign(t, dir, "generate-key-pair", "--output-key-prefix", "release")
	mustCosign(t, dir, "generate-key-pair", "--output-key-prefix", "other")
	mustCosign(t, dir, "signing-config", "create", "--out", "sc.json")
	os.WriteFile(filepath.Join(dir, "provenance.json"), []byte(`{"buildDefinition": {"buildType": "https://slsa-framework/github-actions"}, "runDetails": {}}`), 0o644)
	legacy := []string{"--use-signing-config=false", "--tlog-upload=false", "--new-bundle-format=false"}
	bundle := []string{"--signing-config", "sc.json"}

	registries := map[string]string{
		"distribution (tag fallback)": distribution(t),
		"in-process (referrers API)":  sigtest.NewRegistry(t, true).Host,
	}
	for regName, host := range registries {
		push := func(repo string) string { return pushRandom(t, host, repo) }
		images := map[string]string{}
		sign := func(id, key string, format []string) {
			images[id] = push(id)
			if key != "" {
				mustCosign(t, dir, append(append([]string{"sign", "--key", key + ".key", "--yes"}, format...), images[id])...)
			}
		}
		attest := func(id string, format []string) {
			images[id] = push(id)
			mustCosign(t, dir, append(append([]string{"attest", "--key", "release.key", "--yes", "--type", "slsaprovenance1", "--predicate", "provenance.json"}, format...), images[id])...)
		}
		sign("signed-legacy", "release", legacy)
		sign("signed-bundle", "release", bundle)
		sign("other-legacy", "other", legacy)
		sign("other-bundle", "other", bundle)
		sign("unsigned", "", nil)
		attest("attested-legacy", legacy)
		attest("attested-bundle", bundle)

		cases := []struct {
			image, predicate string
			want             bool
		}{
			{"signed-legacy", "", true},
			{"signed-bundle", "", true},
			{"other-legacy", "", false},
			{"other-bundle", "", false},
			{"unsigned", "", false},
			{"attested-legacy", "slsaprovenance1", true},
			{"attested-bundle", "slsaprovenance1", true},
			{"attested-legacy", "spdxjson", false},
			{"attested-bundle", "cyclonedx", false},
			{"signed-bundle", "slsaprovenance1", false},
		}
		for _, c := range cases {
			t.Run(regName+"/"+c.image+"/"+c.predicate, func(t *testing.T) {
				ref := images[c.image]
				args := []string{"verify", "--key", "release.pub", "--insecure-ignore-tlog=true", ref}
				if c.predicate != "" {
					args = []string{"verify-attestation", "--key", "release.pub", "--insecure-ignore-tlog=true", "--type", c.predicate, ref}
				}
				out, cerr := cosign(t, dir, args...)
				if (cerr == nil) != c.want {
					t.Fatalf("cosign %s: err %v, want verified=%v\n%s", args[0], cerr, c.want, out)
				}
				pol := policyFile(t, dir, host+"/**", c.predicate)
				pout, code := exitCode(t, exec.Command(bin, "verify", "--policy", pol, "--image", ref, "-o", "json"))
				if want := map[bool]int{true: 0, false: 1}[c.want]; code != want {
					t.Fatalf("portcullis verify exit %d, cosign says verified=%v\n%s", code, c.want, pout)
				}
			})
		}
	}
}

// policyFile writes a ClusterImagePolicy for release.pub on the images glob matches, requiring
// an attestation of predicate when one is given.
func policyFile(t testing.TB, dir, glob, predicate string) string {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	atts := ""
	if predicate != "" {
		atts = "\n    attestations:\n    - {name: required, predicateType: " + predicate + "}"
	}
	doc := `apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: release}
spec:
  images: [{glob: "` + glob + `"}]
  authorities:
  - name: release
    key:
      data: |
        ` + strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n        ") + atts + "\n"
	p := filepath.Join(dir, "policy-"+predicate+".yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
