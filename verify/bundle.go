package verify

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// isSignatureBundle tells an image signature (a message signature, or a DSSE statement of
// cosign's sign predicate type, as cosign v3 writes by default) from an attestation. It reads the
// unverified payload only to sort bundles; what counts is the verified statement.
func isSignatureBundle(b *sgbundle.Bundle) bool {
	env := b.GetDsseEnvelope()
	if env == nil {
		return true
	}
	return peekPredicateType(env.GetPayload()) == types.CosignSignPredicateType
}

func peekPredicateType(statement []byte) string {
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	_ = json.Unmarshal(statement, &st) // unreadable means no type, which matches nothing
	return st.PredicateType
}

// verifyBundle verifies b with sigstore-go against authority a and trusted material tm,
// requiring it to be about h; now checks its certificate at the current time (atAdmissionTime).
func verifyBundle(a *Authority, tm root.TrustedMaterial, h v1.Hash, b *sgbundle.Bundle, now bool) (*sgverify.VerificationResult, error) {
	v, err := bundleVerifier(a, tm, now)
	if err != nil {
		return nil, err
	}
	p, err := bundlePolicy(a, h)
	if err != nil {
		return nil, err
	}
	return guard(func() (*sgverify.VerificationResult, error) { return v.Verify(b, p) })
}

// bundleAttestation turns a verified bundle into an Attestation.
func bundleAttestation(res *sgverify.VerificationResult, signer Signer) (Attestation, error) {
	st := res.Statement
	if st == nil {
		return Attestation{}, fmt.Errorf("verified bundle carries no in-toto statement")
	}
	if st.GetPredicateType() == "" {
		return Attestation{}, errNoPredicateType
	}
	pred := json.RawMessage("null")
	if st.GetPredicate() != nil {
		b, err := protojson.Marshal(st.GetPredicate())
		if err != nil {
			return Attestation{}, fmt.Errorf("encoding predicate: %w", err)
		}
		pred = b
	}
	return Attestation{Signer: signer, Format: FormatBundle, PredicateType: st.GetPredicateType(), Predicate: pred}, nil
}
