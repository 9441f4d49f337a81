package policy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/trust"
	"github.com/portcullis-dev/portcullis/verify"
)

// trustRoot is a compiled TrustRoot or built-in root: its material and the key that names it
// in verdict cache keys (with the root's digest, so a new root re-judges), or why it has none.
type trustRoot struct {
	material root.TrustedMaterial
	key      string
	err      error
	// builtin, when set, resolves a built-in root: only when an authority uses it, since the
	// CLI may then ask its mirror.
	builtin func() trustRoot
	// current is the built-in root's material as held now, without asking a mirror: the
	// transparency log keys of key authorities; currentKey names it in their verdict keys.
	current    root.TrustedMaterial
	currentKey string
}

func (t trustRoot) resolve() trustRoot {
	if t.builtin != nil {
		return t.builtin()
	}
	return t
}

// compileTrustRoots compiles every TrustRoot into s and returns them by name, with the
// built-in names and "" (the default, public-good) beside them.
func compileTrustRoots(src Sources, s *Set) map[string]trustRoot {
	reg := src.Trust
	if reg == nil {
		reg = trust.NewRegistry(trust.Options{Offline: true})
	}
	roots := map[string]trustRoot{}
	for _, tr := range src.TrustRoots {
		c, st := compileTrustRoot(tr, reg)
		if c.err != nil {
			s.rootErrs[tr.Name] = c.err
		}
		if st != nil {
			s.rootStatus[tr.Name] = *st
		}
		roots[tr.Name] = c
	}
	for _, name := range []string{trust.PublicGood, trust.GitHub} {
		roots[name] = trustRoot{builtin: func() trustRoot { return builtinRoot(reg, name) }}
	}
	pg := roots[trust.PublicGood]
	if cur, _ := reg.Current(trust.PublicGood); cur != nil {
		pg.current, pg.currentKey = cur.Material, trust.PublicGood+"@sha256:"+cur.SHA256
	}
	if src.DefaultTrustRoot != nil {
		pg = trustRoot{material: src.DefaultTrustRoot, key: "trust-root-file", current: src.DefaultTrustRoot, currentKey: "trust-root-file"}
	}
	roots[trust.PublicGood], roots[""] = pg, pg
	return roots
}

func builtinRoot(reg *trust.Registry, name string) trustRoot {
	r, _, err := reg.Builtin(name)
	if err != nil {
		return trustRoot{err: fmt.Errorf("built-in trust root %s: %w", name, err)}
	}
	return trustRoot{material: r.Material, key: name + "@sha256:" + r.SHA256}
}

// compileTrustRoot compiles a TrustRoot; for a TUF one it also returns what its repository
// gave, for its status.
func compileTrustRoot(tr v1alpha1.TrustRoot, reg *trust.Registry) (trustRoot, *trust.Status) {
	key := fmt.Sprintf("%s/%s/%d", tr.Name, tr.UID, tr.Generation)
	fail := func(err error) trustRoot {
		return trustRoot{key: key, err: fmt.Errorf("TrustRoot %s: %w", tr.Name, err)}
	}
	spec := tr.Spec
	switch {
	case trust.Reserved(tr.Name):
		return fail(fmt.Errorf("the name %s is reserved for the built-in trust root; rename this TrustRoot and its trustRootRefs", tr.Name)), nil
	case spec.TUF != nil && spec.SigstoreTrustedRoot != "", spec.TUF == nil && spec.SigstoreTrustedRoot == "":
		return fail(errors.New("exactly one of sigstoreTrustedRoot or tuf must be set")), nil
	case spec.TUF != nil && (spec.TUF.Mirror == "") == (spec.TUF.Repository == ""):
		return fail(errors.New("tuf: exactly one of mirror or repository must be set")), nil
	case spec.TUF != nil:
		initial, err := decodeBase64("tuf.root", spec.TUF.Root)
		if err != nil {
			return fail(err), nil
		}
		var repo []byte
		if spec.TUF.Repository != "" {
			if repo, err = decodeBase64("tuf.repository", spec.TUF.Repository); err != nil {
				return fail(err), nil
			}
		}
		r, st, err := reg.TUF(tr.Name, spec.TUF.Mirror, initial, repo)
		if err != nil {
			return fail(err), &st
		}
		return trustRoot{material: r.Material, key: key + "@sha256:" + r.SHA256}, &st
	}
	m, err := verify.ParseTrustedRoot([]byte(spec.SigstoreTrustedRoot))
	if err != nil {
		return fail(err), nil
	}
	return trustRoot{material: m, key: key}, nil
}

// decodeBase64 decodes a base64 field, which may be wrapped over lines.
func decodeBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w", field, err)
	}
	return b, nil
}
