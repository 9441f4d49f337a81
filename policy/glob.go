package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// dockerHub is the registry that go-containerregistry normalizes Docker Hub references to.
const dockerHub = "index.docker.io"

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

// compileGlob normalizes and compiles a glob. Docker Hub short names are normalized as
// references are: "nginx" means index.docker.io/library/nginx and "docker.io/x" means
// index.docker.io/x.
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
	p = normalizeGlob(p)
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

func normalizeGlob(p string) string {
	first, rest, hasRest := strings.Cut(p, "/")
	if strings.Contains(first, "*") {
		return p
	}
	if !hasRest || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		first, rest = dockerHub, p // no registry named: Docker Hub
	} else if first == "docker.io" {
		first = dockerHub
	}
	if first == dockerHub && !strings.Contains(rest, "/") && rest != "**" {
		rest = "library/" + rest
	}
	return first + "/" + rest
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
