package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/in-toto/in-toto-golang/in_toto"
	slsa02 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/cosign/attestation"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/types"
)

// predicateTypes are the short names `cosign attest --type` takes, and their URIs (as cosign's
// CLI options define them; that package is not imported, since it links the whole CLI).
var predicateTypes = map[string]string{
	"custom":           attestation.CosignCustomProvenanceV01,
	"slsaprovenance":   slsa02.PredicateSLSAProvenance,
	"slsaprovenance02": slsa02.PredicateSLSAProvenance,
	"slsaprovenance1":  slsa1.PredicateSLSAProvenance,
	"spdx":             in_toto.PredicateSPDX,
	"spdxjson":         in_toto.PredicateSPDX,
	"cyclonedx":        in_toto.PredicateCycloneDX,
	"link":             in_toto.PredicateLinkV1,
	"vuln":             attestation.CosignVulnProvenanceV01,
	"openvex":          attestation.OpenVexNamespace,
}

// PredicateType turns a cosign short name (slsaprovenance, spdxjson, cyclonedx, vuln, custom,
// ...) into its predicate type URI; a URI is returned as it is.
func PredicateType(nameOrURI string) (string, error) {
	if uri, ok := predicateTypes[nameOrURI]; ok {
		return uri, nil
	}
	if _, err := url.ParseRequestURI(nameOrURI); err != nil {
		return "", fmt.Errorf("predicate type %q is neither a cosign short name nor a URI", nameOrURI)
	}
	return nameOrURI, nil
}

// verifyAttestations verifies every attestation of d, in both formats, against a, and requires
// one of each predicate type a names.
func (s *Session) verifyAttestations(d name.Digest, h v1.Hash, a *Authority) (*Result, error) {
	co, err := checkOpts(a, statementClaim)
	if err != nil {
		return nil, err
	}
	legacy, err := s.legacy(d, a.SignatureRepository, "att")
	if err != nil {
		return nil, err
	}
	bs, err := s.referrerBundles(d, a.SignatureRepository)
	if err != nil {
		return nil, err
	}
	var t tally
	t.notes = bs.unreadable
	t.unreadable(legacy.unreadable)
	res := &Result{}
	for _, att := range legacy.layers {
		t.found++
		signer, err := s.verifyLegacy(att, h, co, a, cosign.VerifyBlobAttestation)
		if err != nil {
			t.reject(err)
			continue
		}
		got, err := legacyAttestation(att, signer)
		if err != nil {
			t.reject(err)
			continue
		}
		res.Attestations = append(res.Attestations, got)
	}
	for _, b := range bs.bundles {
		if isSignatureBundle(b) {
			continue
		}
		t.found++
		vr, signer, err := verifyBundleAs(co.TrustedMaterial, h, b, a)
		if err != nil {
			t.reject(err)
			continue
		}
		got, err := bundleAttestation(vr, signer)
		if err != nil {
			t.reject(err)
			continue
		}
		res.Attestations = append(res.Attestations, got)
	}
	if missing := missingTypes(a.Attestations, res.Attestations); len(missing) > 0 {
		head := fmt.Sprintf("no %s attestation verified by %s", strings.Join(missing, ", "), a.describe())
		hint := "attest the image digest as authority " + a.Name + " accepts (cosign attest --type " + missing[0] + ")"
		if len(res.Attestations) > 0 {
			return nil, &Failure{Reason: head + " (verified only: " + strings.Join(typesOf(res.Attestations), ", ") + ")", Hint: hint}
		}
		return nil, &Failure{Reason: t.reason(head, "attestation"), Hint: hint}
	}
	return res, nil
}

// statementClaim is cosign's check that a verified `.att` layer's statement is about h, saying
// plainly when the statement cannot be read at all.
func statementClaim(att oci.Signature, h v1.Hash, annotations map[string]any) error {
	err := cosign.IntotoSubjectClaimVerifier(att, h, annotations)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	if errors.As(err, &syntax) || errors.As(err, &typ) || errors.As(err, &b64) {
		return fmt.Errorf("the signed in-toto statement cannot be read: %w", err)
	}
	return err
}

// legacyAttestation reads the in-toto statement out of a verified `.att` layer (a DSSE
// envelope).
func legacyAttestation(att oci.Signature, signer Signer) (Attestation, error) {
	payload, err := att.Payload()
	if err != nil {
		return Attestation{}, fmt.Errorf("reading attestation: %w", err)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return Attestation{}, fmt.Errorf("decoding DSSE envelope: %w", err)
	}
	if env.PayloadType != types.IntotoPayloadType {
		return Attestation{}, fmt.Errorf("DSSE payload type %q is not in-toto", env.PayloadType)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return Attestation{}, fmt.Errorf("decoding DSSE payload: %w", err)
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return Attestation{}, fmt.Errorf("decoding in-toto statement: %w", err)
	}
	if st.PredicateType == "" {
		return Attestation{}, errNoPredicateType
	}
	if st.Predicate == nil {
		st.Predicate = json.RawMessage("null")
	}
	return Attestation{Signer: signer, Format: FormatLegacy, PredicateType: st.PredicateType, Predicate: st.Predicate}, nil
}

// errNoPredicateType refuses a statement that names no predicate type: it cannot attest any.
var errNoPredicateType = errors.New("the signed in-toto statement names no predicate type")

func missingTypes(want []string, got []Attestation) []string {
	have := map[string]bool{}
	for _, a := range got {
		have[a.PredicateType] = true
	}
	var missing []string
	for _, w := range want {
		if !have[w] {
			missing = append(missing, w)
		}
	}
	return missing
}

func typesOf(atts []Attestation) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range atts {
		if !seen[a.PredicateType] {
			seen[a.PredicateType] = true
			out = append(out, a.PredicateType)
		}
	}
	sort.Strings(out)
	return out
}
