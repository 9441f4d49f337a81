package sigtest

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortypes "github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
)

// SignLegacy attaches a keyless cosign signature of d to its `.sig` tag, as `cosign sign
// --new-bundle-format=false` does with a Fulcio certificate: the certificate and chain, the
// Rekor bundle (a hashedrekord entry and its SET) and, if asked, an RFC 3161 timestamp.
func (s *Sigstore) SignLegacy(d name.Digest, id Identity) error {
	cert, key, chain, err := s.leaf(id)
	if err != nil {
		return err
	}
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		return err
	}
	signer, err := signature.LoadECDSASigner(key, crypto.SHA256)
	if err != nil {
		return err
	}
	sig, err := signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	opts, err := s.legacyOptions(cert, chain, sig, id, rekortypes.ArtifactProperties{ArtifactHash: hex.EncodeToString(sum[:]), SignatureBytes: sig}, "hashedrekord")
	if err != nil {
		return err
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig), opts...)
	if err != nil {
		return err
	}
	return attach(d, ociSig, false)
}

// AttestLegacy attaches a keyless DSSE attestation of statement to d's `.att` tag.
func (s *Sigstore) AttestLegacy(d name.Digest, statement []byte, id Identity) error {
	cert, key, chain, err := s.leaf(id)
	if err != nil {
		return err
	}
	env, _, err := envelope(key, statement)
	if err != nil {
		return err
	}
	// cosign timestamps an attestation's whole envelope: a legacy attestation has no separate
	// signature annotation.
	opts, err := s.legacyOptions(cert, chain, env, id, rekortypes.ArtifactProperties{ArtifactBytes: env}, "dsse")
	if err != nil {
		return err
	}
	att, err := static.NewAttestation(env, opts...)
	if err != nil {
		return err
	}
	return attach(d, att, true)
}

// legacyOptions are the annotations of a legacy layer: certificate and chain, a Rekor bundle
// for an entry of kind with props, and a timestamp over stamped.
func (s *Sigstore) legacyOptions(cert *x509.Certificate, chain []*x509.Certificate, stamped []byte, id Identity, props rekortypes.ArtifactProperties, kind string) ([]static.Option, error) {
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, err
	}
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM(chain)
	if err != nil {
		return nil, err
	}
	opts := []static.Option{static.WithCertChain(certPEM, chainPEM)}
	if id.RekorV2 {
		return nil, errLegacyV2
	}
	if !id.NoTlog {
		props.PublicKeyBytes = [][]byte{certPEM}
		e, err := s.logEntry(kind, props, id.logAt(), id.TamperSET)
		if err != nil {
			return nil, fmt.Errorf("logging the signature: %w", err)
		}
		opts = append(opts, static.WithBundle(&cbundle.RekorBundle{SignedEntryTimestamp: e.set, Payload: cbundle.RekorPayload{
			Body: base64.StdEncoding.EncodeToString(e.body), IntegratedTime: e.integratedTime, LogIndex: 0, LogID: hex.EncodeToString(e.logID)}}))
	}
	if id.Timestamp || id.BogusTimestamp {
		if id.BogusTimestamp {
			stamped = []byte("something else")
		}
		ts, err := s.timestamp(stamped, id.logAt())
		if err != nil {
			return nil, err
		}
		opts = append(opts, static.WithRFC3161Timestamp(&cbundle.RFC3161Timestamp{SignedRFC3161Timestamp: ts}))
	}
	return opts, nil
}

// attach adds a signature or attestation layer to d and writes it.
func attach(d name.Digest, layer oci.Signature, attestation bool) error {
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		return err
	}
	if attestation {
		if se, err = mutate.AttachAttestationToEntity(se, layer); err != nil {
			return err
		}
		return ociremote.WriteAttestations(d.Repository, se)
	}
	if se, err = mutate.AttachSignatureToEntity(se, layer); err != nil {
		return err
	}
	return ociremote.WriteSignatures(d.Repository, se)
}

// envelope signs statement as an in-toto DSSE envelope and returns it with its signature.
func envelope(key crypto.Signer, statement []byte) ([]byte, []byte, error) {
	sv, err := signature.LoadSigner(key, crypto.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return signEnvelope(sv, statement)
}

// signEnvelope signs statement with sv as an in-toto DSSE envelope and returns it with its
// signature.
func signEnvelope(sv signature.Signer, statement []byte) ([]byte, []byte, error) {
	env, err := dsse.WrapSigner(sv, types.IntotoPayloadType).SignMessage(bytes.NewReader(statement))
	if err != nil {
		return nil, nil, err
	}
	var parsed struct {
		Signatures []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(env, &parsed); err != nil || len(parsed.Signatures) == 0 {
		return nil, nil, fmt.Errorf("reading the envelope's signature: %v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(parsed.Signatures[0].Sig)
	return env, sig, err
}

// AttestBundle attaches a keyless Sigstore bundle (v0.3, DSSE) of statement to d as a
// referrer, as cosign v3 does: the certificate, a Rekor dsse entry with its SET and inclusion
// proof (or, with id.RekorV2, a Rekor v2 hashedrekord entry of the envelope, as cosign v3
// makes with a Rekor v2 signing config), and, if asked, an RFC 3161 timestamp.
func (s *Sigstore) AttestBundle(d name.Digest, predicateType string, statement []byte, id Identity) error {
	cert, key, _, err := s.leaf(id)
	if err != nil {
		return err
	}
	env, sig, err := envelope(key, statement)
	if err != nil {
		return err
	}
	vm := &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}}}
	if !id.NoTlog && id.RekorV2 {
		e, err := s.logEntryV2(certSigner(cert), paeDigest(types.IntotoPayloadType, statement), sig, id.Forgery)
		if err != nil {
			return err
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{e}
	}
	if !id.NoTlog && !id.RekorV2 {
		certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
		if err != nil {
			return err
		}
		e, err := s.logEntry("dsse", rekortypes.ArtifactProperties{ArtifactBytes: env, PublicKeyBytes: [][]byte{certPEM}}, id.logAt(), id.TamperSET)
		if err != nil {
			return err
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{{
			LogIndex: 0, LogId: &protocommon.LogId{KeyId: e.logID}, KindVersion: &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"},
			IntegratedTime: e.integratedTime, InclusionPromise: &protorekor.InclusionPromise{SignedEntryTimestamp: e.set},
			InclusionProof:    &protorekor.InclusionProof{LogIndex: 0, RootHash: e.rootHash, TreeSize: 1, Checkpoint: &protorekor.Checkpoint{Envelope: string(e.checkpoint)}},
			CanonicalizedBody: e.body,
		}}
	}
	if id.Timestamp || id.BogusTimestamp {
		stamped := sig
		if id.BogusTimestamp {
			stamped = []byte("something else")
		}
		ts, err := s.timestamp(stamped, id.logAt())
		if err != nil {
			return err
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}}}
	}
	b := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: statement, PayloadType: types.IntotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	raw, err := protojson.Marshal(b)
	if err != nil {
		return err
	}
	return ociremote.WriteAttestationNewBundleFormat(d, raw, predicateType)
}

// SignBundle attaches a keyless bundle-format signature of d, as cosign v3's `cosign sign`.
func (s *Sigstore) SignBundle(d name.Digest, id Identity) error {
	st, err := statementJSON(d, types.CosignSignPredicateType, nil)
	if err != nil {
		return err
	}
	return s.AttestBundle(d, types.CosignSignPredicateType, st, id)
}
