package trust

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// TargetName is the TUF target that holds a Sigstore trusted root.
const TargetName = "trusted_root.json"

// tufRepo reads the trusted root target of one TUF repository. It remembers the newest TUF
// root and the highest timestamp, snapshot and targets versions it has verified, so a later
// fetch can neither start from an older root nor accept older metadata, even with no disk.
type tufRepo struct {
	base    string
	fetcher fetcher.Fetcher
	// dir, when set, is where go-tuf keeps its metadata and targets between runs.
	dir     string
	tufRoot []byte
	seen    versions
}

// versions are the metadata versions of one verified fetch.
type versions struct{ root, timestamp, snapshot, targets int64 }

// fetchResult is a verified trusted root target and what TUF says of it.
type fetchResult struct {
	doc      []byte
	versions versions
	// expires is when the first of the metadata that vouches for doc expires.
	expires time.Time
	// expired reports that the metadata had expired when read (allowed only for serialized
	// repositories and the cache: no newer metadata can reach them).
	expired bool
}

// fetch runs the TUF client workflow against the repository and returns its trusted root.
// local reads only what go-tuf cached on disk; allowExpired accepts metadata that expired, as
// of its own timestamp's expiry, when nothing newer can be had.
func (r *tufRepo) fetch(local, allowExpired bool) (res *fetchResult, err error) {
	defer func() {
		if p := recover(); p != nil { // go-tuf panics on some malformed metadata
			res, err = nil, fmt.Errorf("TUF repository %s: malformed metadata: %v", r.base, p)
		}
	}()
	res, err = r.update(local, time.Time{})
	if err != nil && allowExpired && errors.Is(err, &metadata.ErrExpiredMetadata{}) {
		if at, terr := r.timestampExpiry(local); terr == nil {
			res, err = r.update(local, at.Add(-time.Second))
			if res != nil {
				res.expired = true
			}
		}
	}
	if err != nil {
		return nil, err
	}
	r.seen = res.versions
	return res, nil
}

func (r *tufRepo) config(local bool) (*config.UpdaterConfig, error) {
	cfg, err := config.New(r.base, r.tufRoot)
	if err != nil {
		return nil, fmt.Errorf("TUF repository %s: %w", r.base, err)
	}
	cfg.Fetcher = r.fetcher
	cfg.UnsafeLocalMode = local
	cfg.DisableLocalCache = r.dir == ""
	if r.dir != "" {
		cfg.LocalMetadataDir, cfg.LocalTargetsDir = r.dir, filepath.Join(r.dir, "targets")
	}
	return cfg, nil
}

func (r *tufRepo) update(local bool, refTime time.Time) (*fetchResult, error) {
	cfg, err := r.config(local)
	if err != nil {
		return nil, err
	}
	up, err := updater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("TUF repository %s: loading its root: %w", r.base, err)
	}
	if !refTime.IsZero() {
		up.UnsafeSetRefTime(refTime)
	}
	if err := up.Refresh(); err != nil {
		return nil, fmt.Errorf("TUF repository %s: %w", r.base, err)
	}
	tm := up.GetTrustedMetadataSet()
	top := tm.Targets[metadata.TARGETS]
	res := &fetchResult{versions: versions{tm.Root.Signed.Version, tm.Timestamp.Signed.Version, tm.Snapshot.Signed.Version, top.Signed.Version}}
	if err := r.seen.refuseRollback(res.versions); err != nil {
		return nil, fmt.Errorf("TUF repository %s: %w", r.base, err)
	}
	ti, err := up.GetTargetInfo(TargetName)
	if err != nil {
		return nil, fmt.Errorf("TUF repository %s: target %s: %w", r.base, TargetName, err)
	}
	_, doc, err := up.FindCachedTarget(ti, "")
	if err == nil && doc == nil && !local {
		_, doc, err = up.DownloadTarget(ti, "", "")
	}
	if err == nil && doc == nil {
		err = errors.New("not in the cache")
	}
	if err != nil {
		return nil, fmt.Errorf("TUF repository %s: target %s: %w", r.base, TargetName, err)
	}
	res.doc = doc
	res.expires = tm.Timestamp.Signed.Expires
	for _, e := range []time.Time{tm.Snapshot.Signed.Expires, top.Signed.Expires, tm.Root.Signed.Expires} {
		if e.Before(res.expires) {
			res.expires = e
		}
	}
	if r.tufRoot, err = tm.Root.ToBytes(false); err != nil {
		return nil, fmt.Errorf("TUF repository %s: keeping its root: %w", r.base, err)
	}
	return res, nil
}

// timestampExpiry reads, unverified, when the repository's timestamp expires: only to choose
// the time at which a stale repository is verified in full.
func (r *tufRepo) timestampExpiry(local bool) (time.Time, error) {
	var data []byte
	var err error
	if local {
		data, err = os.ReadFile(filepath.Join(r.dir, metadata.TIMESTAMP+".json"))
	} else {
		data, err = r.fetcher.DownloadFile(r.base+"/"+metadata.TIMESTAMP+".json", 16384, 0)
	}
	if err != nil {
		return time.Time{}, err
	}
	ts, err := (&metadata.Metadata[metadata.TimestampType]{}).FromBytes(data)
	if err != nil {
		return time.Time{}, err
	}
	return ts.Signed.Expires, nil
}

// refuseRollback refuses metadata older than what was verified before.
func (s versions) refuseRollback(n versions) error {
	for _, c := range []struct {
		role     string
		had, got int64
	}{{"root", s.root, n.root}, {"timestamp", s.timestamp, n.timestamp}, {"snapshot", s.snapshot, n.snapshot}, {"targets", s.targets, n.targets}} {
		if c.got < c.had {
			return fmt.Errorf("rollback refused: %s version %d is older than version %d, verified before", c.role, c.got, c.had)
		}
	}
	return nil
}
