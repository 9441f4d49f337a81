package sigtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/digitorus/timestamp"
	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/pki"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // the dsse entry kind
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // the hashedrekord entry kind
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
)

// logEntry is one Rekor v1 entry: its canonical body, its signed entry timestamp and an
// inclusion proof in a one-entry log.
type logEntry struct {
	body           []byte
	integratedTime int64
	logID          []byte
	set            []byte
	rootHash       []byte
	checkpoint     []byte
}

// logEntry records an entry of kind (hashedrekord or dsse) in the Sigstore's Rekor.
func (s *Sigstore) logEntry(kind string, props types.ArtifactProperties, at time.Time, tamper bool) (*logEntry, error) {
	ctx := context.Background()
	props.PKIFormat = string(pki.X509)
	proposed, err := types.NewProposedEntry(ctx, kind, "0.0.1", props)
	if err != nil {
		return nil, err
	}
	impl, err := types.CreateVersionedEntry(proposed)
	if err != nil {
		return nil, err
	}
	canonical, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, err
	}
	// Rekor stores the entry as it reads it back, which is what a client verifies.
	back, err := models.UnmarshalProposedEntry(bytes.NewReader(canonical), runtime.JSONConsumer())
	if err != nil {
		return nil, err
	}
	entry, err := types.UnmarshalEntry(back)
	if err != nil {
		return nil, err
	}
	body, err := entry.Canonicalize(ctx)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(s.rekorKey.Public())
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	e := &logEntry{body: body, integratedTime: at.Unix(), logID: id[:]}
	payload, err := json.Marshal(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: e.integratedTime, LogIndex: 0, LogID: hex.EncodeToString(id[:])})
	if err != nil {
		return nil, err
	}
	canon, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadECDSASignerVerifier(s.rekorKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	if e.set, err = signer.SignMessage(bytes.NewReader(canon)); err != nil {
		return nil, err
	}
	if tamper {
		e.set[len(e.set)/2] ^= 0xff
	}
	leafHash := sha256.Sum256(append([]byte{0}, body...))
	e.rootHash = leafHash[:]
	e.checkpoint, err = util.CreateAndSignCheckpoint(ctx, "rekor.localhost", 123, 1, e.rootHash, signer)
	return e, err
}

// timestamp returns an RFC 3161 timestamp over sig from the Sigstore's timestamp authority.
func (s *Sigstore) timestamp(sig []byte, at time.Time) ([]byte, error) {
	req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil, err
	}
	parsed, err := timestamp.ParseRequest(req)
	if err != nil {
		return nil, err
	}
	ts := timestamp.Timestamp{HashAlgorithm: parsed.HashAlgorithm, HashedMessage: parsed.HashedMessage, Time: at,
		Policy: []int{1, 3, 6, 1, 4, 1, 57264, 2}}
	return ts.CreateResponseWithOpts(s.tsaChain[0], s.tsaKey, crypto.SHA256)
}
