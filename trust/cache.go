package trust

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// seedFromCache starts s from what an earlier run verified and cached, if anything: its TUF
// root (so the versions it saw are the floor) and its trusted root.
func (r *Registry) seedFromCache(s *Source, repo *tufRepo) {
	cached, err := os.ReadFile(filepath.Join(repo.dir, metadata.ROOT+".json"))
	if err != nil {
		return
	}
	if newer, err := laterRoot(repo.tufRoot, cached); err == nil {
		repo.tufRoot = newer
	}
	res, err := repo.fetch(true, true)
	if err != nil {
		r.o.Log.Info("TUF cache not used", "trustRoot", s.name, "dir", repo.dir, "error", err.Error())
		return
	}
	if root, err := parseRoot(res.doc, OriginCache); err == nil {
		_ = s.offer(root, res)
	}
}

// laterRoot returns whichever of two TUF root documents has the higher version.
func laterRoot(a, b []byte) ([]byte, error) {
	ma, err := parseTUFRoot(a)
	if err != nil {
		return nil, err
	}
	mb, err := parseTUFRoot(b)
	if err != nil {
		return nil, err
	}
	if mb.Signed.Version > ma.Signed.Version {
		return b, nil
	}
	return a, nil
}

// parseTUFRoot parses TUF root metadata; go-tuf panics on some malformed documents, so a
// document that is not an object with a "signed" root is refused first.
func parseTUFRoot(b []byte) (*metadata.Metadata[metadata.RootType], error) {
	var shape struct {
		Signed struct {
			Type string `json:"_type"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &shape); err != nil {
		return nil, err
	}
	if shape.Signed.Type != metadata.ROOT {
		return nil, fmt.Errorf("not TUF root metadata (signed._type %q)", shape.Signed.Type)
	}
	return (&metadata.Metadata[metadata.RootType]{}).FromBytes(b)
}
