package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// trustRoots are the two roots the recorded material must verify against: the embedded
// public-good root, and the one shipped beside the material.
func trustRoots(t *testing.T) map[string]root.TrustedMaterial {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(sigtest.CosignTestdata(t), "trusted_root_pgi.json"))
	if err != nil {
		t.Fatal(err)
	}
	pgi, err := verify.ParseTrustedRoot(doc)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := verify.PublicGood()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]root.TrustedMaterial{"embedded": embedded, "trusted_root_pgi.json": pgi}
}

// TestRecordedKeyless verifies real public-good keyless material, offline, at the time Rekor
// recorded it: the certificates expired long ago.
func TestRecordedKeyless(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	mitr := verify.Identity{Subject: "mitr@redhat.com", Issuer: "https://github.com/login/oauth"}
	cody := verify.Identity{Subject: "cody@soyland.com", Issuer: "https://github.com/login/oauth"}
	const fulcioRekor = "dir-img-cosign-fulcio-rekor-valid"

	// The bundle attestation is about go-containerregistry's empty image.
	emptyDigest := reg.Push(t, "fixtures/empty:latest", empty.Image)
	otherDigest := reg.PushRandom(t, "fixtures/other:latest")
	bundle, err := os.ReadFile(filepath.Join(sigtest.CosignTestdata(t), "oci-attestation.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	const custom = "https://cosign.sigstore.dev/attestation/v1"
	for _, d := range []name.Digest{emptyDigest, otherDigest} {
		if err := ociremote.WriteAttestationNewBundleFormat(d, bundle, custom); err != nil {
			t.Fatal(err)
		}
	}
	for rootName, tm := range trustRoots(t) {
		tests := []struct {
			name   string
			dir    string
			drop   []string
			id     verify.Identity
			atts   []string
			digest string
			want   []string // nil: verified as id
		}{
			{"fulcio-rekor-valid, right identity", fulcioRekor, nil, mitr, nil, "", nil},
			{"fulcio-rekor-valid, other subject", fulcioRekor, nil, verify.Identity{Subject: "someone@redhat.com", Issuer: mitr.Issuer}, nil, "",
				[]string{`certificate subject mitr@redhat.com, issuer https://github.com/login/oauth; wanted subject "someone@redhat.com"`}},
			{"fulcio-rekor-valid, other issuer", fulcioRekor, nil, verify.Identity{Subject: mitr.Subject, Issuer: "https://accounts.google.com"}, nil, "",
				[]string{"wanted subject \"mitr@redhat.com\", issuer \"https://accounts.google.com\""}},
			{"fulcio-rekor-valid, regexp identity", fulcioRekor, nil, verify.Identity{SubjectRegExp: `^mitr@redhat\.com$`, IssuerRegExp: `^https://github\.com/`}, nil, "", nil},
			{"fulcio-rekor-valid without its SET", fulcioRekor, []string{"dev.sigstore.cosign/bundle"}, mitr, nil, "",
				[]string{"no transparency log entry, and the authority requires one"}},
			{"fulcio-rekor-valid without its certificate", fulcioRekor, []string{"dev.sigstore.cosign/certificate", "dev.sigstore.cosign/chain"}, mitr, nil, "",
				[]string{"none matched"}},
			{"bundle attestation on the empty image", "", nil, cody, []string{custom}, emptyDigest.String(), nil},
			{"bundle attestation, other identity", "", nil, mitr, []string{custom}, emptyDigest.String(),
				[]string{"certificate subject cody@soyland.com, issuer https://github.com/login/oauth; wanted subject \"mitr@redhat.com\""}},
			{"bundle attestation attached to another image", "", nil, cody, []string{custom}, otherDigest.String(),
				[]string{"none matched"}},
		}
		for _, tt := range tests {
			t.Run(rootName+"/"+tt.name, func(t *testing.T) {
				d := emptyDigest
				switch {
				case tt.dir != "":
					d = sigtest.PushFixture(t, reg, tt.dir, tt.drop...)
				case tt.digest == otherDigest.String():
					d = otherDigest
				}
				a := &verify.Authority{Name: "fixture", Identities: []verify.Identity{tt.id}, TrustedMaterial: tm, RequireTlog: true, Attestations: tt.atts}
				res, err := session(t, c).Verify(d, a)
				if tt.want != nil {
					if !verify.IsFailure(err) || !containsAny(err.Error(), tt.want) {
						t.Fatalf("Verify = %v; want a failure saying %q", err, tt.want)
					}
					return
				}
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				var signer verify.Signer
				if len(res.Signatures) > 0 {
					signer = res.Signatures[0].Signer
				} else {
					signer = res.Attestations[0].Signer
				}
				if want := map[bool]string{true: "cody@soyland.com", false: "mitr@redhat.com"}[tt.atts != nil]; signer.Subject != want || signer.Issuer != "https://github.com/login/oauth" {
					t.Fatalf("verified signer %+v", signer)
				}
			})
		}
	}
}
