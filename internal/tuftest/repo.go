package tuftest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Target is the name of the one target each repository publishes.
const Target = "trusted_root.json"

// Repo is a TUF repository: signed metadata and targets, as a mirror serves them.
type Repo struct {
	t         testing.TB
	mu        sync.Mutex
	keys      map[string]ed25519.PrivateKey
	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	files     map[string][]byte
	initial   []byte
	down      bool
	requests  int
}

// Requests is how many requests the mirror has been sent.
func (r *Repo) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// New builds a repository at version 1 whose target holds content; its metadata expires in a
// day.
func New(t testing.TB, content []byte) *Repo {
	t.Helper()
	exp := time.Now().Add(24 * time.Hour).UTC()
	r := &Repo{t: t, keys: map[string]ed25519.PrivateKey{}, files: map[string][]byte{},
		root: metadata.Root(exp), targets: metadata.Targets(exp), snapshot: metadata.Snapshot(exp), timestamp: metadata.Timestamp(exp)}
	r.root.Signed.ConsistentSnapshot = true
	for _, role := range metadata.TOP_LEVEL_ROLE_NAMES {
		r.newKey(role)
	}
	r.publishRoot(r.keys[metadata.ROOT])
	r.initial = r.files["1.root.json"]
	r.setTarget(content, false)
	return r
}

func (r *Repo) newKey(role string) ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	key, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.root.Signed.AddKey(key, role); err != nil {
		r.t.Fatal(err)
	}
	r.keys[role] = priv
	return priv
}

// InitialRoot is version 1 of the root metadata: what a client starts from.
func (r *Repo) InitialRoot() []byte { return r.initial }

// sign signs m with the keys given, after clearing its signatures.
func sign[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], keys ...ed25519.PrivateKey) []byte {
	m.ClearSignatures()
	for _, k := range keys {
		s, err := signature.LoadSigner(k, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Sign(s); err != nil {
			t.Fatal(err)
		}
	}
	b, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *Repo) publishRoot(keys ...ed25519.PrivateKey) {
	r.files[fmt.Sprintf("%d.root.json", r.root.Signed.Version)] = sign(r.t, r.root, keys...)
}

// SetTarget publishes content as the target: new targets, snapshot and timestamp versions.
func (r *Repo) SetTarget(content []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setTarget(content, true)
}

// setTarget publishes content as the target, at the next versions when bump is set.
func (r *Repo) setTarget(content []byte, bump bool) {
	next := int64(0)
	if bump {
		next = 1
	}
	tf, err := metadata.TargetFile().FromBytes(Target, content, "sha256")
	if err != nil {
		r.t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	r.files["targets/"+hex.EncodeToString(sum[:])+"."+Target] = content
	r.targets.Signed.Targets[Target] = tf
	r.targets.Signed.Version += next
	r.files[fmt.Sprintf("%d.targets.json", r.targets.Signed.Version)] = sign(r.t, r.targets, r.keys[metadata.TARGETS])
	r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	r.snapshot.Signed.Version += next
	r.files[fmt.Sprintf("%d.snapshot.json", r.snapshot.Signed.Version)] = sign(r.t, r.snapshot, r.keys[metadata.SNAPSHOT])
	r.timestamp.Signed.Version += next - 1 // publishTimestamp adds one
	r.publishTimestamp(r.snapshot.Signed.Version, r.timestamp.Signed.Expires)
}

// publishTimestamp signs and publishes the next timestamp, pointing at snapshotVersion.
func (r *Repo) publishTimestamp(snapshotVersion int64, expires time.Time) {
	r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(snapshotVersion)
	r.timestamp.Signed.Expires = expires
	r.timestamp.Signed.Version++
	r.files["timestamp.json"] = sign(r.t, r.timestamp, r.keys[metadata.TIMESTAMP])
}

// RotateRoot replaces the root key and publishes the next root version, signed by the old key
// and the new one, as TUF requires of a rotation.
func (r *Repo) RotateRoot() {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.keys[metadata.ROOT]
	oldID := r.root.Signed.Roles[metadata.ROOT].KeyIDs[0]
	if err := r.root.Signed.RevokeKey(oldID, metadata.ROOT); err != nil {
		r.t.Fatal(err)
	}
	r.root.Signed.Version++
	r.publishRoot(old, r.newKey(metadata.ROOT))
}

// ExpireTimestamp publishes a new timestamp that expired an hour ago.
func (r *Repo) ExpireTimestamp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishTimestamp(r.snapshot.Signed.Version, time.Now().Add(-time.Hour).UTC())
}

// RollBackSnapshot publishes a new, validly signed timestamp that points at the previous
// snapshot version: a rollback attack.
func (r *Repo) RollBackSnapshot() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishTimestamp(r.snapshot.Signed.Version-1, r.timestamp.Signed.Expires)
}

// TamperTarget serves other bytes where the current target is expected.
func (r *Repo) TamperTarget(content []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range r.files {
		if strings.HasPrefix(name, "targets/") {
			r.files[name] = content
		}
	}
}

// Replace serves data as the file at path (timestamp.json, 2.snapshot.json, ...): a mirror
// serving garbage.
func (r *Repo) Replace(path string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path] = data
}

// SetDown makes the mirror drop every connection, as one that cannot be reached.
func (r *Repo) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// ServeHTTP serves the repository's files; a missing file is a 404, as on a real mirror.
func (r *Repo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	data, ok := r.files[strings.TrimPrefix(req.URL.Path, "/")]
	down := r.down
	r.requests++
	r.mu.Unlock()
	if down {
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	if !ok {
		http.NotFound(w, req)
		return
	}
	_, _ = w.Write(data)
}
