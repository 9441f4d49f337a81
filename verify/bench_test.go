package verify_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

// BenchmarkVerify verifies one signed image against an in-process registry: cold, with a new
// Client (and so empty caches) each time, and warm, where the registry material is cached and
// only the cryptography runs.
func BenchmarkVerify(b *testing.B) {
	for _, format := range []string{verify.FormatLegacy, verify.FormatBundle} {
		reg := sigtest.NewRegistry(b, true)
		key := sigtest.NewKey(b)
		d := reg.PushRandom(b, "app:1")
		if format == verify.FormatLegacy {
			key.SignLegacy(b, d)
		} else {
			key.SignBundle(b, d)
		}
		pk, err := verify.ParsePublicKey(key.PEM)
		if err != nil {
			b.Fatal(err)
		}
		a := &verify.Authority{Name: "k", Key: pk}
		b.Run(format+"/cold", func(b *testing.B) {
			for b.Loop() {
				c, _ := verify.New()
				s := c.Session(b.Context(), nil, nil)
				if _, err := s.Verify(d, a); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(format+"/warm", func(b *testing.B) {
			c, _ := verify.New()
			for b.Loop() {
				s := c.Session(b.Context(), nil, nil)
				if _, err := s.Verify(d, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRekorV2 verifies one keyless bundle logged in sigtest's Rekor v2 log, with an
// RFC 3161 timestamp, warm (registry material cached): the checkpoint, the inclusion proof
// (rebuilding the entry from the bundle), the timestamp, the certificate chain and SCT, and
// the signature. BenchmarkVerify's bundle/warm is the same work for a key and no log.
func BenchmarkVerifyRekorV2(b *testing.B) {
	ss, err := sigtest.NewSigstore()
	if err != nil {
		b.Fatal(err)
	}
	reg := sigtest.NewRegistry(b, true)
	for _, v2 := range []bool{false, true} {
		d := reg.PushRandom(b, "app:1")
		if err := ss.SignBundle(d, sigtest.Identity{Subject: workflow, Issuer: github, RekorV2: v2, Timestamp: true}); err != nil {
			b.Fatal(err)
		}
		a := &verify.Authority{Name: "ci", Identities: []verify.Identity{ciIdentity}, TrustedMaterial: ss.TrustedRoot, RequireTlog: true}
		benchWarm(b, map[bool]string{false: "rekor-v1+tsa", true: "rekor-v2+tsa"}[v2], d, a)
	}
	// The production DSSE provenance (log2025-1, timestamp.sigstore.dev), embedded root.
	read := func(f string) []byte { return readFile(b, filepath.Join(publicGood2026, f)) }
	d := sigtest.PushArtifact(b, reg, "public-good-2026:1", read("rekor-v2-dsse-provenance.artifact"), read("rekor-v2-dsse-provenance.sigstore.json"))
	a := &verify.Authority{Name: "recorded", RequireTlog: true, Attestations: []string{provenance},
		Identities: []verify.Identity{{Subject: "untrusted-sa@sigstore-conformance.iam.gserviceaccount.com", Issuer: "https://accounts.google.com"}}}
	benchWarm(b, "public-good-2026", d, a)
}

// benchWarm verifies d against a with one Client, so only the first pass reads the registry.
func benchWarm(b *testing.B, name string, d name.Digest, a *verify.Authority) {
	b.Run(name, func(b *testing.B) {
		c, _ := verify.New()
		for b.Loop() {
			if _, err := c.Session(b.Context(), nil, nil).Verify(d, a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
