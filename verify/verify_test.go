package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/verify"
)

func newClient(t *testing.T, opts ...verify.Option) *verify.Client {
	t.Helper()
	c, err := verify.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func session(t *testing.T, c *verify.Client) *verify.Session {
	t.Helper()
	return c.Session(context.Background(), nil, nil)
}

func keyAuthority(t *testing.T, k *sigtest.Key, attestations ...string) *verify.Authority {
	t.Helper()
	pk, err := verify.ParsePublicKey(k.PEM)
	if err != nil {
		t.Fatal(err)
	}
	return &verify.Authority{Name: "release-key", Key: pk, Attestations: attestations}
}

const provenance = "https://slsa.dev/provenance/v1"

func TestVerifyBothFormats(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		reg := sigtest.NewRegistry(t, referrers)
		key, other := sigtest.NewKey(t), sigtest.NewKey(t)
		signedLegacy := reg.PushRandom(t, "app/legacy:1")
		key.SignLegacy(t, signedLegacy)
		signedBundle := reg.PushRandom(t, "app/bundle:1")
		key.SignBundle(t, signedBundle)
		unsigned := reg.PushRandom(t, "app/unsigned:1")
		byOther := reg.PushRandom(t, "app/other:1")
		other.SignLegacy(t, byOther)
		other.SignBundle(t, byOther)
		// A valid signature of signedLegacy's digest, copied onto another image's .sig tag.
		victim := reg.PushRandom(t, "app/victim:1")
		key.SignLegacy(t, victim, signedLegacy)
		attLegacy := reg.PushRandom(t, "app/att-legacy:1")
		key.AttestLegacy(t, attLegacy, sigtest.Statement(t, attLegacy, provenance, map[string]any{"builder": "ci"}))
		attBundle := reg.PushRandom(t, "app/att-bundle:1")
		key.AttestBundle(t, attBundle, provenance, sigtest.Statement(t, attBundle, provenance, map[string]any{"builder": "ci"}))
		// An attestation whose statement names another digest.
		attWrongSubject := reg.PushRandom(t, "app/att-wrong:1")
		key.AttestBundle(t, attWrongSubject, provenance, sigtest.Statement(t, attLegacy, provenance, nil))

		tests := []struct {
			name         string
			digest       name.Digest
			attestations []string
			want         string // "" means verified; otherwise a substring of the failure
			format       string
		}{
			{"legacy signature", signedLegacy, nil, "", verify.FormatLegacy},
			{"bundle signature", signedBundle, nil, "", verify.FormatBundle},
			{"unsigned", unsigned, nil, "no signature verified by key release-key (no signatures found)", ""},
			{"signed by another key", byOther, nil, "(2 signatures found, none matched", ""},
			{"signature of another digest", victim, nil, "a signature copied from another image", ""},
			{"legacy attestation", attLegacy, []string{provenance}, "", verify.FormatLegacy},
			{"bundle attestation", attBundle, []string{provenance}, "", verify.FormatBundle},
			{"attestation missing", signedLegacy, []string{provenance}, "no https://slsa.dev/provenance/v1 attestation verified by key release-key (no attestations found)", ""},
			{"attestation of another type", attBundle, []string{"https://spdx.dev/Document"}, "verified only: https://slsa.dev/provenance/v1", ""},
			{"attestation about another digest", attWrongSubject, []string{provenance}, "none matched", ""},
		}
		c := newClient(t)
		for _, tt := range tests {
			t.Run(map[bool]string{true: "referrers", false: "tag-fallback"}[referrers]+"/"+tt.name, func(t *testing.T) {
				res, err := session(t, c).Verify(tt.digest, keyAuthority(t, key, tt.attestations...))
				if tt.want == "" {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					got := res.Signatures
					if len(tt.attestations) > 0 {
						if len(res.Attestations) != 1 || res.Attestations[0].Format != tt.format || string(res.Attestations[0].Predicate) != `{"builder":"ci"}` {
							t.Fatalf("attestations = %+v", res.Attestations)
						}
						return
					}
					if len(got) != 1 || got[0].Format != tt.format || got[0].KeyID == "" {
						t.Fatalf("signatures = %+v, want one %s signature", got, tt.format)
					}
					return
				}
				if !verify.IsFailure(err) {
					t.Fatalf("Verify = %v, %v; want a failure containing %q", res, err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("failure %q does not contain %q", err, tt.want)
				}
			})
		}
	}
}

// TestPredicateTypes: cosign's short names mean what cosign means by them; URIs pass through.
func TestPredicateTypes(t *testing.T) {
	for short, want := range map[string]string{
		"slsaprovenance":                  "https://slsa.dev/provenance/v0.2",
		"slsaprovenance02":                "https://slsa.dev/provenance/v0.2",
		"slsaprovenance1":                 "https://slsa.dev/provenance/v1",
		"spdxjson":                        "https://spdx.dev/Document",
		"cyclonedx":                       "https://cyclonedx.org/bom",
		"vuln":                            "https://cosign.sigstore.dev/attestation/vuln/v1",
		"custom":                          "https://cosign.sigstore.dev/attestation/v1",
		"https://example.com/predicate/1": "https://example.com/predicate/1",
	} {
		if got, err := verify.PredicateType(short); err != nil || got != want {
			t.Errorf("PredicateType(%q) = %q, %v; want %q", short, got, err, want)
		}
	}
	if _, err := verify.PredicateType("not a type"); err == nil {
		t.Error("PredicateType accepted a word that is neither a short name nor a URI")
	}
}
