package trust

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"

	"github.com/portcullis-dev/portcullis/verify"
)

// Built-in trust root names. A TrustRoot may not take them.
const (
	PublicGood = "public-good"
	GitHub     = "github"
)

// Mirrors of the built-in TUF repositories.
const (
	PublicGoodMirror = "https://tuf-repo-cdn.sigstore.dev"
	GitHubMirror     = "https://tuf-repo.github.com"
)

// publicGoodTUFRoot is root-signing's metadata/root.json, version 15 (expired 2026-11-20: a TUF
// client updates through newer roots online), from test/testdata/sigstore/root-signing.
//
//go:embed embedded/public-good/root.json
var publicGoodTUFRoot []byte

// githubTUFRoot is the initial root (version 3) the GitHub CLI embeds for tuf-repo.github.com,
// and githubTrustedRoot that repository's trusted_root.json (sha256 f7a479f2), both from
// test/testdata/sigstore/github (see PROVENANCE.md there).
//
//go:embed embedded/github/root.json
var githubTUFRoot []byte

//go:embed embedded/github/trusted_root.json
var githubTrustedRoot []byte

// builtin is a built-in name: its TUF repository and the snapshot of its trusted root that
// ships in the binary.
type builtin struct {
	mirror   string
	tufRoot  []byte
	snapshot []byte
}

func builtins() map[string]builtin {
	return map[string]builtin{
		PublicGood: {mirror: PublicGoodMirror, tufRoot: publicGoodTUFRoot, snapshot: verify.PublicGoodJSON()},
		GitHub:     {mirror: GitHubMirror, tufRoot: githubTUFRoot, snapshot: githubTrustedRoot},
	}
}

// Reserved reports whether name is a built-in trust root name.
func Reserved(name string) bool { return name == PublicGood || name == GitHub }

// EmbeddedRoot describes a built-in root as the binary ships it.
type EmbeddedRoot struct {
	Name, SHA256, Mirror string
}

// Embedded lists the built-in roots' embedded snapshots, by name.
func Embedded() []EmbeddedRoot {
	var out []EmbeddedRoot
	for _, name := range []string{PublicGood, GitHub} {
		b := builtins()[name]
		sum := sha256.Sum256(b.snapshot)
		out = append(out, EmbeddedRoot{Name: name, SHA256: hex.EncodeToString(sum[:]), Mirror: b.mirror})
	}
	return out
}
