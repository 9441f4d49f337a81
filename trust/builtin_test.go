package trust_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/portcullis-dev/portcullis/internal/tuftest"
	"github.com/portcullis-dev/portcullis/trust"
)

// TestEmbedded: the built-in names start from the snapshots in the binary, which are the
// published documents of test/testdata/sigstore, and offline they ask no mirror.
func TestEmbedded(t *testing.T) {
	repo, url := mirror(t, root2026)
	reg := trust.NewRegistry(trust.Options{Offline: true, PublicGoodMirror: url, PublicGoodRoot: repo.InitialRoot()})
	for name, want := range map[string]string{
		trust.PublicGood: "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66",
		trust.GitHub:     "f7a479f2bd2cc8d0389c74e99319a68524f3019d283d1c93d6de24362717012c",
	} {
		root, st, err := reg.Builtin(name)
		if err != nil || root.SHA256 != want || root.Origin != trust.OriginEmbedded || st.Err != nil {
			t.Fatalf("%s: root %v (%v), status error %v; want sha256 %s, embedded", name, root, err, st.Err, want)
		}
	}
	if n := repo.Requests(); n != 0 {
		t.Fatalf("offline, the public-good mirror was sent %d requests", n)
	}
	if _, _, err := reg.Builtin("corp"); err == nil || !strings.Contains(err.Error(), "not a built-in trust root") {
		t.Fatalf("an unknown built-in name: %v", err)
	}
	if !trust.Reserved("public-good") || !trust.Reserved("github") || trust.Reserved("corp") {
		t.Fatal("reserved names are public-good and github only")
	}
}

// TestBuiltinNewestWins: online, a built-in root moves to a newer root its mirror publishes,
// never to an older one, and keeps the embedded one when the mirror is down.
func TestBuiltinNewestWins(t *testing.T) {
	for _, tt := range []struct {
		name    string
		publish []byte
		down    bool
		want    []byte
		origin  trust.Origin
		errPart string
	}{
		{"newer root fetched", root2026, false, root2026, trust.OriginMirror, ""},
		{"older root refused", root2022, false, root2025, trust.OriginEmbedded, "rollback refused: trusted root sha256:" + digest(root2022)},
		{"mirror down", root2026, true, root2025, trust.OriginEmbedded, "EOF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo, url := mirror(t, tt.publish)
			repo.SetDown(tt.down)
			reg := trust.NewRegistry(trust.Options{PublicGoodMirror: url, PublicGoodRoot: repo.InitialRoot()})
			root, st, err := reg.Builtin(trust.PublicGood)
			if err != nil {
				t.Fatalf("a built-in root must always answer: %v", err)
			}
			wantRoot(t, st, tt.want, tt.errPart)
			if root.Origin != tt.origin {
				t.Fatalf("origin %s, want %s", root.Origin, tt.origin)
			}
		})
	}
}

// TestCache: what one process verified is where the next starts, offline, and it is not
// older than the embedded snapshot.
func TestCache(t *testing.T) {
	dir := t.TempDir()
	repo, url := mirror(t, root2025)
	repo.RotateRoot()
	repo.SetTarget(root2026)
	first := trust.NewRegistry(trust.Options{CacheDir: dir, PublicGoodMirror: url, PublicGoodRoot: repo.InitialRoot()})
	if _, st, _ := first.Builtin(trust.PublicGood); st.Root == nil || st.Root.SHA256 != digest(root2026) {
		t.Fatalf("first run: %+v", st)
	}
	repo.SetDown(true)
	next := trust.NewRegistry(trust.Options{CacheDir: dir, Offline: true, PublicGoodMirror: url, PublicGoodRoot: repo.InitialRoot()})
	root, st, err := next.Builtin(trust.PublicGood)
	if err != nil || root.SHA256 != digest(root2026) || root.Origin != trust.OriginCache || st.TUFVersion != 2 {
		t.Fatalf("restart: root %+v, TUF root v%d, %v; want the cached root (TUF root v2)", root, st.TUFVersion, err)
	}

	// A cache holding a root older than the embedded one (a mirror served it; it was refused,
	// but go-tuf had written it): the embedded root wins at the next start.
	dir = t.TempDir()
	old, oldURL := mirror(t, root2022)
	trust.NewRegistry(trust.Options{CacheDir: dir, PublicGoodMirror: oldURL, PublicGoodRoot: old.InitialRoot()}).Builtin(trust.PublicGood)
	root, st, err = trust.NewRegistry(trust.Options{CacheDir: dir, Offline: true, PublicGoodMirror: oldURL, PublicGoodRoot: old.InitialRoot()}).Builtin(trust.PublicGood)
	if err != nil || root.SHA256 != digest(root2025) || root.Origin != trust.OriginEmbedded || st.TUFVersion != 0 || !st.Expires.IsZero() {
		t.Fatalf("restart with an older cache: root %+v, TUF root v%d, expires %s, %v; want the embedded root", root, st.TUFVersion, st.Expires, err)
	}
}

// TestBackground: after Start, a built-in root answers at once from its snapshot, refreshes in
// the background and reports the change.
func TestBackground(t *testing.T) {
	repo, url := mirror(t, root2026)
	changed := make(chan struct{}, 10)
	reg := trust.NewRegistry(trust.Options{PublicGoodMirror: url, PublicGoodRoot: repo.InitialRoot(), Interval: 10 * time.Millisecond,
		OnChange: func() { changed <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg.Start(ctx)
	if root, _, err := reg.Builtin(trust.PublicGood); err != nil || root.SHA256 != digest(root2025) {
		t.Fatalf("before any refresh: %v, %v; want the embedded root", root, err)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("no change reported")
	}
	if root, _, err := reg.Builtin(trust.PublicGood); err != nil || root.SHA256 != digest(root2026) {
		t.Fatalf("after a refresh: %v, %v; want the fetched root", root, err)
	}
	repo.SetDown(true)
	select {
	case <-changed: // the failure is a change of health
	case <-time.After(30 * time.Second):
		t.Fatal("a mirror going down was not reported")
	}
	if st := reg.Source(trust.PublicGood).Status(); st.Root.SHA256 != digest(root2026) || st.Health(time.Now()) != "failing" {
		t.Fatalf("mirror down: root %s, health %s; want the last good root, failing", st.Root.SHA256[:12], st.Health(time.Now()))
	}
}

// TestRepository: a serialized repository (a gzipped tar) is verified like a mirror, with no
// network; one whose metadata has expired is still verified in full, at its expiry, and says
// it has expired.
func TestRepository(t *testing.T) {
	repo := tuftest.New(t, root2025)
	reg := trust.NewRegistry(trust.Options{})
	root, st, err := reg.TUF("airgap", "", repo.InitialRoot(), repo.Archive())
	if err != nil || root.SHA256 != digest(root2025) || root.Origin != trust.OriginRepository || st.Expired(time.Now()) {
		t.Fatalf("fresh repository: %+v, %v", st, err)
	}
	repo.ExpireTimestamp()
	root, st, err = reg.TUF("airgap", "", repo.InitialRoot(), repo.Archive())
	if err != nil || root.SHA256 != digest(root2025) || !st.Expired(time.Now()) || st.Health(time.Now()) != "expired" {
		t.Fatalf("expired repository: %+v, %v; want its root, expired", st, err)
	}
	repo.TamperTarget(root2026)
	if _, _, err := trust.NewRegistry(trust.Options{}).TUF("airgap", "", repo.InitialRoot(), repo.Archive()); err == nil {
		t.Fatal("a repository with a tampered target was trusted")
	}
	if _, _, err := reg.TUF("airgap", "", repo.InitialRoot(), []byte("not gzip")); err == nil || !strings.Contains(err.Error(), "archive") {
		t.Fatalf("a broken archive: %v", err)
	}
}

// TestEmbeddedTUFRoots: the embedded initial TUF roots are the files of test/testdata/sigstore
// (see PROVENANCE.md there), and they survive the re-serialization a source keeps its newest
// TUF root in between refreshes: their signatures still verify.
func TestEmbeddedTUFRoots(t *testing.T) {
	for embedded, upstream := range map[string]string{
		"embedded/public-good/root.json":    "../test/testdata/sigstore/root-signing/root.json",
		"embedded/github/root.json":         "../test/testdata/sigstore/github/tuf-repo.github.com-root.json",
		"embedded/github/trusted_root.json": "../test/testdata/sigstore/github/trusted_root.json",
	} {
		if digest(readFile(embedded)) != digest(readFile(upstream)) {
			t.Errorf("%s differs from %s", embedded, upstream)
		}
	}
	for _, p := range []string{"embedded/public-good/root.json", "embedded/github/root.json"} {
		m, err := (&metadata.Metadata[metadata.RootType]{}).FromBytes(readFile(p))
		if err != nil {
			t.Fatal(err)
		}
		again, err := m.ToBytes(false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := trustedmetadata.New(again); err != nil {
			t.Errorf("%s re-serialized no longer verifies: %v", p, err)
		}
	}
}
