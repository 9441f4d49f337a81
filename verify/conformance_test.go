package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

const conformanceDir = "../test/testdata/sigstore/sigstore-conformance/bundle-verify"

// beacon is the signer sigstore-conformance expects when a case names none.
var beacon = verify.Identity{
	Subject: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
	Issuer:  "https://token.actions.githubusercontent.com",
}

// TestConformanceRekorV2 runs sigstore-conformance's Rekor v2 cases (staging material, each
// with its own trusted root) and managed-key-happy-path through the verify package, as the
// suite does (test/testdata/sigstore/PROVENANCE.md): a case ending in _fail must be refused,
// any other verified. The artifact a.txt is served as the image, the bundle as its referrer.
func TestConformanceRekorV2(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	artifact := readFile(t, filepath.Join(conformanceDir, "a.txt"))
	bundles, err := filepath.Glob(filepath.Join(conformanceDir, "*", "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 27 { // the 26 rekor2-* cases of PROVENANCE.md and managed-key-happy-path
		t.Fatalf("found %d conformance cases, want 27", len(bundles))
	}
	for _, f := range bundles {
		dir := filepath.Dir(f)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			raw := readFile(t, f)
			a := conformanceAuthority(t, dir, raw)
			d := sigtest.PushArtifact(t, reg, "conformance/"+strings.ToLower(strings.ReplaceAll(name, "_", "-"))+":1", artifact, raw)
			res, err := session(t, c).Verify(d, a)
			if !strings.HasSuffix(name, "_fail") {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !verify.IsFailure(err) {
				t.Fatalf("Verify = %+v, %v; want a failure", res, err)
			}
			want := conformanceReasons[name]
			if want == "" || !strings.Contains(err.Error(), want) {
				t.Fatalf("failure %q does not say %q", err, want)
			}
		})
	}
}

// conformanceReasons is what the refusal of each _fail case must say: why it fails.
var conformanceReasons = func() map[string]string {
	const checkpoint = "its log checkpoint is not signed by the transparency log the trust root names"
	const proof = "its log entry's inclusion proof does not lead from this signature to the signed checkpoint"
	const noTime = "its Rekor v2 log entry records no time, and no RFC 3161 timestamp from a trusted timestamp authority verifies"
	return map[string]string{
		"rekor2-checkpoint-missing-log-signature_fail":              checkpoint,
		"rekor2-checkpoint-missing-origin_fail":                     checkpoint,
		"rekor2-checkpoint-missing-root-hash_fail":                  checkpoint,
		"rekor2-checkpoint-missing-size_fail":                       checkpoint,
		"rekor2-checkpoint-no-matching-signature_fail":              checkpoint,
		"rekor2-dsse-invalid-sig_fail":                              proof,
		"rekor2-dsse-mismatch-envelope_fail":                        proof,
		"rekor2-dsse-mismatch-sig_fail":                             proof,
		"rekor2-no-inclusion-proof_fail":                            "is not a readable Sigstore bundle: inclusion proof missing",
		"rekor2-no-timestamp_fail":                                  noTime + ")",
		"rekor2-timestamp-outside-trust-root-tsa-validity_fail":     noTime + ": timestamp is after the validity period end",
		"rekor2-timestamp-outside-tsa-cert-validity_fail":           noTime + ": error parsing response into Timestamp: pkcs7: signing time",
		"rekor2-timestamp-payload-mismatch_fail":                    noTime + ": hashed messages don't match",
		"rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail":    noTime + ": certificate embedded in the TSR does not match the provided TSA certificate",
		"rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": noTime + ": error while verifying signature: pkcs7: No certificate for signer",
		// Its signedTimestamp's base64 is line-wrapped: not a bundle protobuf JSON can read.
		"rekor2-timestamp-with-incorrect-time_fail": "invalid value for bytes field signedTimestamp",
	}
}()

// conformanceAuthority is the authority a case is verified for: its key.pub, or the beacon
// identity; its trusted_root.json, or the production root; tlog required (the default for
// keyless); a DSSE case's provenance attestation, or a signature.
func conformanceAuthority(t *testing.T, dir string, bundle []byte) *verify.Authority {
	t.Helper()
	a := &verify.Authority{Name: filepath.Base(dir), RequireTlog: true, Identities: []verify.Identity{beacon}}
	rootFile := filepath.Join(dir, "trusted_root.json")
	if _, err := os.Stat(rootFile); os.IsNotExist(err) {
		rootFile = "../test/testdata/sigstore/root-signing/trusted_root.json"
	}
	a.TrustedMaterial = parseRoot(t, rootFile)
	if pem, err := os.ReadFile(filepath.Join(dir, "key.pub")); err == nil {
		key, err := verify.ParsePublicKey(pem)
		if err != nil {
			t.Fatal(err)
		}
		a.Key, a.Identities = key, nil
	}
	if strings.Contains(string(bundle), `"dsseEnvelope"`) {
		a.Attestations = []string{provenance}
	}
	return a
}

func parseRoot(t *testing.T, file string) root.TrustedMaterial {
	t.Helper()
	tr, err := verify.ParseTrustedRoot(readFile(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func readFile(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
