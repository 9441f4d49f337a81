package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/verify"
)

// Origin says where a Root was read from.
type Origin string

// Where a root comes from.
const (
	OriginEmbedded   Origin = "embedded"
	OriginCache      Origin = "cache"
	OriginMirror     Origin = "mirror"
	OriginRepository Origin = "repository"
)

// Root is one verified trusted root document: the material, its digest (which names it in
// verdict cache keys and metrics) and the newest validity start it lists (which orders roots).
type Root struct {
	Material *root.TrustedRoot
	JSON     []byte
	// SHA256 is the hex sha256 of JSON.
	SHA256 string
	// Newest is the latest validity start of any CA, log or TSA in it.
	Newest time.Time
	Origin Origin
}

// parseRoot parses a trusted root document and works out its digest and age.
func parseRoot(doc []byte, origin Origin) (*Root, error) {
	m, err := verify.ParseTrustedRoot(doc)
	if err != nil {
		return nil, err
	}
	newest, err := newestStart(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(doc)
	return &Root{Material: m, JSON: doc, SHA256: hex.EncodeToString(sum[:]), Newest: newest, Origin: origin}, nil
}

type validFor struct {
	ValidFor struct {
		Start time.Time `json:"start"`
	} `json:"validFor"`
}

// newestStart is the latest validity start in a trusted root: Sigstore adds a key or CA with a
// start date when it rotates, so a later one is a newer root.
func newestStart(doc []byte) (time.Time, error) {
	var tr struct {
		CAs   []validFor `json:"certificateAuthorities"`
		TSAs  []validFor `json:"timestampAuthorities"`
		Tlogs []struct {
			PublicKey validFor `json:"publicKey"`
		} `json:"tlogs"`
		CTLogs []struct {
			PublicKey validFor `json:"publicKey"`
		} `json:"ctlogs"`
	}
	if err := json.Unmarshal(doc, &tr); err != nil {
		return time.Time{}, fmt.Errorf("reading validity periods of trusted root: %w", err)
	}
	var newest time.Time
	see := func(v validFor) {
		if v.ValidFor.Start.After(newest) {
			newest = v.ValidFor.Start
		}
	}
	for _, group := range [][]validFor{tr.CAs, tr.TSAs} {
		for _, v := range group {
			see(v)
		}
	}
	for _, l := range append(tr.Tlogs, tr.CTLogs...) {
		see(l.PublicKey)
	}
	return newest, nil
}

// olderThan reports whether r is an older root than o, which the no-rollback rule refuses.
// A root with the same newest start may still differ (a key's end date set): it is not older.
func (r *Root) olderThan(o *Root) bool { return o != nil && r.Newest.Before(o.Newest) }
