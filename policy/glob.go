package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/portcullis-dev/portcullis/verify"
)

// dockerHub is the registry that go-containerregistry normalizes Docker Hub references to.
const dockerHub = verify.DockerHub

// glob is an image pattern, anchored on the whole normalized reference (registry/repository,
// without tag or digest): * matches within one path segment, ** across segments.
type glob struct {
	pattern string // as normalized, e.g. index.docker.io/library/*
	host    string // the literal registry, or "" when the first segment has a wildcard
	re      *regexp.Regexp
	// literals are the runs between wildcards: a cheap test that rejects most repositories
	// before the regexp runs.
	literals []string
}

var globChars = regexp.MustCompile(`^[a-z0-9._:/*-]+$`)

// compileGlob normalizes and compiles a glob, writing its registry canonically as images are
// (ParseImage): "nginx" means index.docker.io/library/nginx, "Docker.io/x" and
// "registry-1.docker.io/x" mean index.docker.io/x, and "ghcr.io.:443/**" means ghcr.io/**.
func compileGlob(raw string) (glob, error) {
	p := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case p == "":
		return glob{}, fmt.Errorf("glob %q is empty", raw)
	case !globChars.MatchString(p):
		return glob{}, fmt.Errorf("glob %q has characters other than a-z 0-9 . _ : / * -", raw)
	case strings.Contains(p, "***"):
		return glob{}, fmt.Errorf("glob %q has *** (use * within a segment, ** across segments)", raw)
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		return glob{}, fmt.Errorf("glob %q has an empty path segment", raw)
	}
	p, err := normalizeGlob(p)
	if err != nil {
		return glob{}, fmt.Errorf("glob %q: %w", raw, err)
	}
	host, _, _ := strings.Cut(p, "/")
	if strings.Contains(host, "*") {
		host = ""
	}
	re, err := regexp.Compile("^" + globToRegexp(p) + "$")
	if err != nil {
		return glob{}, fmt.Errorf("glob %q: %w", raw, err)
	}
	return glob{pattern: p, host: host, re: re, literals: strings.FieldsFunc(p, func(r rune) bool { return r == '*' })}, nil
}

// normalizeGlob writes a glob's registry as images are written (verify.CanonicalRegistry), so
// that every spelling of a registry in a glob or an image meets the same one.
func normalizeGlob(p string) (string, error) {
	first, rest, hasRest := strings.Cut(p, "/")
	if strings.Contains(first, "*") {
		return p, nil
	}
	if !hasRest || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		first, rest = dockerHub, p // no registry named: Docker Hub
	}
	first, err := verify.CanonicalRegistry(first)
	if err != nil {
		return "", err
	}
	if first == dockerHub && !strings.Contains(rest, "/") && rest != "**" {
		rest = "library/" + rest
	}
	return first + "/" + rest, nil
}

func globToRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String()
}

func (g glob) match(repo string) bool {
	for i, lit := range g.literals {
		switch {
		case i == 0 && !strings.HasPrefix(g.pattern, "*") && !strings.HasPrefix(repo, lit),
			i == len(g.literals)-1 && !strings.HasSuffix(g.pattern, "*") && !strings.HasSuffix(repo, lit),
			!strings.Contains(repo, lit):
			return false
		}
	}
	return g.re.MatchString(repo)
}
