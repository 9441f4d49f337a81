package verify_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrmutate "github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// The tests in this file each reproduce one published attack on cosign, sigstore-go or
// policy-controller against Portcullis's own verification paths, with real signatures, and show
// it refused. docs/advisories.md says which of them the libraries fix and which Portcullis guards.

var ciIdentity = verify.Identity{Issuer: github, SubjectRegExp: `^https://github\.com/org/repo/`}

// twin pushes one random image as repo:1 and as scratch/repo:1: genuine material is made on the
// scratch copy, taken apart, and attached to the other, so that the image holds only the forgery.
func twin(t *testing.T, reg *sigtest.Registry, repo string) (target, scratch name.Digest) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return reg.Push(t, repo+":1", img), reg.Push(t, "scratch/"+repo+":1", img)
}

// legacyLayer is one layer of a `.sig` or `.att` image, as the registry serves it.
type legacyLayer struct {
	payload     []byte
	mediaType   ggcrtypes.MediaType
	annotations map[string]string
}

// readLegacy returns the only layer of d's `.sig` (suffix "sig") or `.att` image.
func readLegacy(t *testing.T, d name.Digest, suffix string) legacyLayer {
	t.Helper()
	tagOf := ociremote.SignatureTag
	if suffix == "att" {
		tagOf = ociremote.AttestationTag
	}
	tag, err := tagOf(d)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := ociremote.Signatures(tag)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := sigs.Get()
	if err != nil || len(layers) != 1 {
		t.Fatalf("reading %s: %d layers, %v", tag, len(layers), err)
	}
	l := layers[0]
	var out legacyLayer
	if out.payload, err = l.Payload(); err != nil {
		t.Fatal(err)
	}
	if out.mediaType, err = l.MediaType(); err != nil {
		t.Fatal(err)
	}
	if out.annotations, err = l.Annotations(); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeLegacy makes l the only layer of d's `.sig` or `.att` image, annotations as given, as a
// hostile registry or signer can.
func writeLegacy(t *testing.T, d name.Digest, suffix string, l legacyLayer) {
	t.Helper()
	tagOf := ociremote.SignatureTag
	if suffix == "att" {
		tagOf = ociremote.AttestationTag
	}
	tag, err := tagOf(d)
	if err != nil {
		t.Fatal(err)
	}
	img, err := ggcrmutate.Append(ggcrmutate.MediaType(empty.Image, ggcrtypes.OCIManifestSchema1), ggcrmutate.Addendum{
		Layer: ggcrstatic.NewLayer(l.payload, l.mediaType), Annotations: l.annotations, MediaType: l.mediaType,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("writing %s: %v", tag, err)
	}
}

// readBundle returns the only Sigstore bundle attached to d.
func readBundle(t *testing.T, d name.Digest) *protobundle.Bundle {
	t.Helper()
	idx, err := ociremote.Referrers(d, "")
	if err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("referrers of %s: %v, %v", d, idx, err)
	}
	b, err := ociremote.Bundle(d.Context().Digest(idx.Manifests[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	return b.Bundle
}

// writeBundle attaches b to d as a referrer.
func writeBundle(t *testing.T, d name.Digest, b *protobundle.Bundle, predicateType string) {
	t.Helper()
	raw, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, raw, predicateType); err != nil {
		t.Fatal(err)
	}
}

// refused checks that Verify refused d with a failure saying one of want.
func refused(t *testing.T, c *verify.Client, d name.Digest, a *verify.Authority, want ...string) {
	t.Helper()
	res, err := session(t, c).Verify(d, a)
	if !verify.IsFailure(err) {
		t.Fatalf("Verify = %+v, %v; want a failure saying one of %q", res, err, want)
	}
	if !containsAny(err.Error(), want) {
		t.Fatalf("failure %q says none of %q", err, want)
	}
}

func newSigstore(t *testing.T) *sigtest.Sigstore {
	t.Helper()
	ss, err := sigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestAdvisoryGHSAfx35mq7g6g98: a bare public key where a certificate belongs, so that the
// key the attacker signed with is trusted without a chain or an identity. cosign v2.6.4 and
// earlier did so in verify-blob's legacy bundle; Portcullis never reads a key from signature
// material, in either format, and an authority's own key is never displaced.
func TestAdvisoryGHSAfx35mq7g6g98(t *testing.T) {
	ss := newSigstore(t)
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	attacker, owner := sigtest.NewKey(t), sigtest.NewKey(t)
	keyless := &verify.Authority{Name: "ci", Identities: []verify.Identity{ciIdentity}, TrustedMaterial: ss.TrustedRoot}
	keyed := keyAuthority(t, owner)

	// Legacy: the attacker signs with their own key and puts that key in the certificate
	// annotation.
	legacy := reg.PushRandom(t, "fx35/legacy:1")
	attacker.SignLegacy(t, legacy)
	l := readLegacy(t, legacy, "sig")
	l.annotations[static.CertificateAnnotationKey] = string(attacker.PEM)
	writeLegacy(t, legacy, "sig", l)

	// Bundle: a genuine keyless bundle, timestamped by the trusted TSA, whose certificate is
	// replaced by the public key that made the signature: as raw bytes in the certificate field,
	// and as a public key reference.
	asKeyDER, scratch := twin(t, reg, "fx35/bundle-der")
	asKeyRef, scratch2 := twin(t, reg, "fx35/bundle-ref")
	signer := sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true, Timestamp: true}
	for _, d := range []name.Digest{scratch, scratch2} {
		if err := ss.SignBundle(d, signer); err != nil {
			t.Fatal(err)
		}
	}
	der := readBundle(t, scratch)
	cert, err := x509.ParseCertificate(der.GetVerificationMaterial().GetCertificate().GetRawBytes())
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	der.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: pkix}}
	writeBundle(t, asKeyDER, der, types.CosignSignPredicateType)
	ref := readBundle(t, scratch2)
	sum := sha256.Sum256(pkix)
	ref.VerificationMaterial.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(sum[:])}}
	writeBundle(t, asKeyRef, ref, types.CosignSignPredicateType)

	t.Run("legacy", func(t *testing.T) {
		for _, a := range []*verify.Authority{keyless, keyed} {
			// cosign cannot read the layer: that layer alone is refused, as a verdict naming why.
			res, err := session(t, c).Verify(legacy, a)
			if !verify.IsFailure(err) || res != nil || !strings.Contains(err.Error(), "is not a readable signature") || !strings.Contains(err.Error(), "x509") {
				t.Fatalf("%s: Verify = %+v, %v; want a failure refusing the layer for its certificate", a.Name, res, err)
			}
		}
	})
	t.Run("bundle, key bytes as the certificate", func(t *testing.T) {
		refused(t, c, asKeyDER, keyless, "no signature verified", "certificate")
		refused(t, c, asKeyDER, keyed, "no signature verified")
	})
	t.Run("bundle, key reference instead of a certificate", func(t *testing.T) {
		refused(t, c, asKeyRef, keyless, "signed with a public key", "no public key material")
		refused(t, c, asKeyRef, keyed, "signed by another key")
	})
}

// TestAdvisoryGHSAwhqxf9j3ch6m (CVE-2026-22703): a transparency log entry that is genuine and
// signed by the trusted log, but records another signature, stands in for the missing entry of
// this one. cosign before v2.6.2 did not compare a legacy entry with the signature when it
// verified against a trusted root, as Portcullis does; v2.6.5 does, and sigstore-go always has.
func TestAdvisoryGHSAwhqxf9j3ch6m(t *testing.T) {
	ss := newSigstore(t)
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	a := &verify.Authority{Name: "ci", Identities: []verify.Identity{ciIdentity}, TrustedMaterial: ss.TrustedRoot, RequireTlog: true}
	unlogged := sigtest.Identity{Subject: workflow, Issuer: github, NoTlog: true}
	logged := sigtest.Identity{Subject: workflow, Issuer: github}
	want := "its transparency log entry records another signature or key"

	t.Run("legacy signature", func(t *testing.T) {
		victim, donor := reg.PushRandom(t, "whqx/sig:1"), reg.PushRandom(t, "whqx/sig-donor:1")
		if err := ss.SignLegacy(victim, unlogged); err != nil {
			t.Fatal(err)
		}
		if err := ss.SignLegacy(donor, logged); err != nil {
			t.Fatal(err)
		}
		l := readLegacy(t, victim, "sig")
		l.annotations[static.BundleAnnotationKey] = readLegacy(t, donor, "sig").annotations[static.BundleAnnotationKey]
		writeLegacy(t, victim, "sig", l)
		refused(t, c, victim, a, want)
	})
	t.Run("legacy attestation", func(t *testing.T) {
		victim, donor := reg.PushRandom(t, "whqx/att:1"), reg.PushRandom(t, "whqx/att-donor:1")
		if err := ss.AttestLegacy(victim, sigtest.Statement(t, victim, provenance, nil), unlogged); err != nil {
			t.Fatal(err)
		}
		if err := ss.AttestLegacy(donor, sigtest.Statement(t, donor, provenance, nil), logged); err != nil {
			t.Fatal(err)
		}
		l := readLegacy(t, victim, "att")
		l.annotations[static.BundleAnnotationKey] = readLegacy(t, donor, "att").annotations[static.BundleAnnotationKey]
		writeLegacy(t, victim, "att", l)
		att := *a
		att.Attestations = []string{provenance}
		refused(t, c, victim, &att, want)
	})
	t.Run("bundle", func(t *testing.T) {
		victim, scratch := twin(t, reg, "whqx/bundle")
		donor := reg.PushRandom(t, "whqx/bundle-donor:1")
		if err := ss.SignBundle(scratch, unlogged); err != nil {
			t.Fatal(err)
		}
		if err := ss.SignBundle(donor, logged); err != nil {
			t.Fatal(err)
		}
		b := readBundle(t, scratch)
		b.VerificationMaterial.TlogEntries = readBundle(t, donor).GetVerificationMaterial().GetTlogEntries()
		writeBundle(t, victim, b, types.CosignSignPredicateType)
		refused(t, c, victim, a, want)
	})
}

// TestAdvisoryGHSAw6c6c85gmmv6 (CVE-2026-39395): an attestation whose signature verifies but
// whose payload is malformed, or of another predicate type, accepted as the one required.
// cosign's verify-blob-attestation did so before v2.6.3; Portcullis reads the predicate type
// only from the verified statement, in both formats, and requires it.
func TestAdvisoryGHSAw6c6c85gmmv6(t *testing.T) {
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	key := sigtest.NewKey(t)
	a := keyAuthority(t, key, provenance)

	statement := func(d name.Digest, edit func(map[string]any)) []byte {
		var st map[string]any
		if err := json.Unmarshal(sigtest.Statement(t, d, provenance, map[string]any{"builder": "ci"}), &st); err != nil {
			t.Fatal(err)
		}
		edit(st)
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name        string
		payload     func(d name.Digest) []byte
		payloadType string
		want        []string
	}{
		{"not JSON", func(name.Digest) []byte { return []byte("not a statement") }, types.IntotoPayloadType,
			[]string{"the signed in-toto statement cannot be read: invalid character", "the signed payload is not a readable in-toto statement"}},
		{"no predicate type", func(d name.Digest) []byte {
			return statement(d, func(st map[string]any) { delete(st, "predicateType") })
		}, types.IntotoPayloadType, []string{"names no predicate type"}},
		{"another predicate type", func(d name.Digest) []byte {
			return statement(d, func(st map[string]any) { st["predicateType"] = "https://spdx.dev/Document" })
		}, types.IntotoPayloadType, []string{"verified only: https://spdx.dev/Document"}},
		{"predicate type in another case", func(d name.Digest) []byte {
			return statement(d, func(st map[string]any) { st["predicateType"] = strings.ToUpper(provenance) })
		}, types.IntotoPayloadType, []string{"verified only: HTTPS://SLSA.DEV/PROVENANCE/V1"}},
		{"not an in-toto payload", func(d name.Digest) []byte {
			return statement(d, func(map[string]any) {})
		}, "application/json", []string{"the signed payload is not an in-toto statement", "the signed payload is not a readable in-toto statement"}},
	}
	for i, tt := range tests {
		t.Run("legacy/"+tt.name, func(t *testing.T) {
			d := reg.PushRandom(t, "w6c6/legacy:"+string(rune('a'+i)))
			env, err := dsse.WrapSigner(key.SV, tt.payloadType).SignMessage(bytes.NewReader(tt.payload(d)))
			if err != nil {
				t.Fatal(err)
			}
			att, err := static.NewAttestation(env)
			if err != nil {
				t.Fatal(err)
			}
			sigtest.AttachAttestation(t, d, att, false)
			refused(t, c, d, a, tt.want...)
		})
		t.Run("bundle/"+tt.name, func(t *testing.T) {
			d := reg.PushRandom(t, "w6c6/bundle:"+string(rune('a'+i)))
			payload := tt.payload(d)
			env, err := dsse.WrapSigner(key.SV, tt.payloadType).SignMessage(bytes.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := key.SV.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			b, err := cbundle.MakeNewBundle(pub, nil, payload, env, key.PEM, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ociremote.WriteAttestationNewBundleFormat(d, b, provenance); err != nil {
				t.Fatal(err)
			}
			refused(t, c, d, a, tt.want...)
		})
	}
}

// TestAdvisoryCVE202624122: a leaf certificate that outlives its intermediate, used after the
// intermediate expired. cosign v2.6.5 checks the chain at the leaf's issuance and only the leaf
// at the signing time (fixed in cosign v3.0.5 only), so Portcullis checks the whole chain of a
// legacy signature at each verified signing time itself; sigstore-go does so for bundles.
func TestAdvisoryCVE202624122(t *testing.T) {
	now := time.Now()
	ss, err := sigtest.NewSigstoreIntermediateUntil(now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	issued := now.Add(-8 * time.Minute) // the leaf is valid until two minutes from now
	tests := []struct {
		name     string
		signedAt time.Time
		failure  []string // none means verified
	}{
		{"signed while the intermediate was valid", now.Add(-3 * time.Minute), nil},
		{"signed after the intermediate expired", now, []string{
			`its certificate chain was not valid when it was signed`, `intermediate CA "sigstore-intermediate" expired at`}},
	}
	i := 0
	for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
		for _, tlog := range []bool{false, true} {
			for _, attest := range []bool{false, true} {
				for _, tt := range tests {
					i++
					name := format + map[bool]string{true: "/tlog-required", false: "/tlog-ignored-timestamped"}[tlog] +
						map[bool]string{true: "/attestation/", false: "/signature/"}[attest] + tt.name
					t.Run(name, func(t *testing.T) {
						d := reg.PushRandom(t, "cve-2026-24122/img:"+string(rune('a'+i)))
						id := sigtest.Identity{Subject: workflow, Issuer: github, At: issued, LogAt: tt.signedAt, NoTlog: !tlog, Timestamp: !tlog}
						st := sigtest.Statement(t, d, provenance, map[string]any{"builder": "ci"})
						var err error
						switch {
						case format == verify.FormatLegacy && attest:
							err = ss.AttestLegacy(d, st, id)
						case format == verify.FormatLegacy:
							err = ss.SignLegacy(d, id)
						case attest:
							err = ss.AttestBundle(d, provenance, st, id)
						default:
							err = ss.SignBundle(d, id)
						}
						if err != nil {
							t.Fatal(err)
						}
						a := &verify.Authority{Name: "ci", Identities: []verify.Identity{ciIdentity}, TrustedMaterial: ss.TrustedRoot, RequireTlog: tlog}
						if attest {
							a.Attestations = []string{provenance}
						}
						if tt.failure == nil {
							if _, err := session(t, c).Verify(d, a); err != nil {
								t.Fatalf("Verify: %v", err)
							}
							return
						}
						refused(t, c, d, a, tt.failure...)
					})
				}
			}
		}
	}
}

// TestAdvisoryCVE202235930: an image with a verified attestation of one predicate type, or only
// a signature, admitted by a policy that requires another type (policy-controller before 0.2.1).
// Portcullis requires each named type among the verified statements.
func TestAdvisoryCVE202235930(t *testing.T) {
	const custom, vuln = "https://cosign.sigstore.dev/attestation/v1", "https://cosign.sigstore.dev/attestation/vuln/v1"
	reg := sigtest.NewRegistry(t, true)
	c := newClient(t)
	key, other := sigtest.NewKey(t), sigtest.NewKey(t)

	signedOnly := reg.PushRandom(t, "cve-2022-35930/signed:1")
	key.SignLegacy(t, signedOnly)
	key.SignBundle(t, signedOnly)
	vulnLegacy := reg.PushRandom(t, "cve-2022-35930/vuln-legacy:1")
	key.AttestLegacy(t, vulnLegacy, sigtest.Statement(t, vulnLegacy, vuln, map[string]any{"scanner": "x"}))
	other.AttestLegacy(t, vulnLegacy, sigtest.Statement(t, vulnLegacy, custom, map[string]any{"by": "someone else"}))
	vulnBundle := reg.PushRandom(t, "cve-2022-35930/vuln-bundle:1")
	key.AttestBundle(t, vulnBundle, vuln, sigtest.Statement(t, vulnBundle, vuln, map[string]any{"scanner": "x"}))
	other.AttestBundle(t, vulnBundle, custom, sigtest.Statement(t, vulnBundle, custom, map[string]any{"by": "someone else"}))

	tests := []struct {
		name     string
		d        name.Digest
		required []string
		want     string
	}{
		{"signature only", signedOnly, []string{custom}, "no " + custom + " attestation verified by key release-key (no attestations found)"},
		{"legacy attestation of another type", vulnLegacy, []string{custom}, "no " + custom + " attestation verified by key release-key (verified only: " + vuln + ")"},
		{"bundle attestation of another type", vulnBundle, []string{custom}, "no " + custom + " attestation verified by key release-key (verified only: " + vuln + ")"},
		{"one of two required types", vulnBundle, []string{vuln, custom}, "no " + custom + " attestation verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, c, tt.d, keyAuthority(t, key, tt.required...), tt.want)
		})
	}
}

// TestAdvisoryPolicyControllerPR1971: an OCI 1.1 referrer attestation trusted without its
// signature being verified (policy-controller's OCI 1.1 discovery, fixed by PR #1971).
// Portcullis reads only Sigstore bundles from referrers and verifies every one.
func TestAdvisoryPolicyControllerPR1971(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers", false: "tag-fallback"}[referrers], func(t *testing.T) {
			reg := sigtest.NewRegistry(t, referrers)
			c := newClient(t)
			key, attacker := sigtest.NewKey(t), sigtest.NewKey(t)
			a := keyAuthority(t, key, provenance)

			// A DSSE envelope as an in-toto referrer, as cosign's WriteAttestationsReferrer and
			// Google Cloud Build attach them: signed by the attacker, and not signed at all.
			inToto := func(repo string, sign bool) name.Digest {
				d := reg.PushRandom(t, repo)
				st := sigtest.Statement(t, d, provenance, map[string]any{"builder": "attacker"})
				env := []byte(`{"payloadType":"` + types.IntotoPayloadType + `","payload":"` + base64.StdEncoding.EncodeToString(st) + `","signatures":[]}`)
				if sign {
					var err error
					if env, err = dsse.WrapSigner(attacker.SV, types.IntotoPayloadType).SignMessage(bytes.NewReader(st)); err != nil {
						t.Fatal(err)
					}
				}
				att, err := static.NewAttestation(env)
				if err != nil {
					t.Fatal(err)
				}
				sigtest.AttachAttestation(t, d, att, true)
				if idx, err := ociremote.Referrers(d, ""); err != nil || len(idx.Manifests) != 1 {
					t.Fatalf("the in-toto referrer of %s is not listed: %v, %v", d, idx, err)
				}
				return d
			}
			signedByAttacker := inToto("pr1971/dsse-signed:1", true)
			unsigned := inToto("pr1971/dsse-unsigned:1", false)
			bundleByAttacker := reg.PushRandom(t, "pr1971/bundle:1")
			attacker.AttestBundle(t, bundleByAttacker, provenance, sigtest.Statement(t, bundleByAttacker, provenance, nil))
			genuine := reg.PushRandom(t, "pr1971/genuine:1")
			key.AttestBundle(t, genuine, provenance, sigtest.Statement(t, genuine, provenance, nil))

			missing := "no " + provenance + " attestation verified by key release-key"
			refused(t, c, signedByAttacker, a, missing)
			refused(t, c, unsigned, a, missing)
			refused(t, c, bundleByAttacker, a, missing+" (1 attestation found, none matched: signed by another key)")
			if _, err := session(t, c).Verify(genuine, a); err != nil {
				t.Fatalf("the genuine referrer attestation: %v", err)
			}
		})
	}
}
