package policy

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Lint returns what in a policy of kind (KindCluster or KindNamespaced) is probably a mistake:
// each warning names the field and says what to write instead. A warning never changes what
// the policy enforces; what does not compile is Policy.Err, not a warning.
func Lint(kind string, spec *v1alpha1.ImagePolicySpec) []string {
	var out []string
	for i, im := range spec.Images {
		out = append(out, lintGlob(fmt.Sprintf("spec.images[%d].glob", i), im.Glob)...)
	}
	if spec.MutateDigest != nil && !*spec.MutateDigest && (spec.Mode == "" || spec.Mode == v1alpha1.ModeEnforce) {
		out = append(out, "spec.mutateDigest is false in an enforce-mode policy: the image is verified by tag, and the tag can be "+
			"re-pushed and then pulled (a restart, a new node) without admission; remove mutateDigest: false so tags are pinned to "+
			"tag@digest, or write images as tag@digest (portcullis verify --pin)")
	}
	for i, a := range spec.Authorities {
		if a.Keyless == nil {
			continue
		}
		out = append(out, lintCertificateAuthority(fmt.Sprintf("spec.authorities[%d].keyless.certificateAuthority: ", i), a.Keyless, time.Now())...)
		for j, id := range a.Keyless.Identities {
			field := fmt.Sprintf("spec.authorities[%d].keyless.identities[%d].", i, j)
			if w := lintRegExp(field+"subjectRegExp", id.SubjectRegExp,
				"any subject that merely contains a match (evil-org/my-repo/... for my-repo/..., x@example.com.attacker.io for x@example.com)"); w != "" {
				out = append(out, w)
			}
			if w := lintRegExp(field+"issuerRegExp", id.IssuerRegExp,
				"any issuer that merely contains a match (https://accounts.example.com.attacker.io for https://accounts.example.com)"); w != "" {
				out = append(out, w)
			}
			if g := id.GitHub; g != nil && g.Workflow == "" && g.Ref == "" {
				out = append(out, field+"github names repository "+g.Repository+" alone: any workflow in it, run from any branch or tag, "+
					"can sign; add ref (refs/heads/main) and workflow (.github/workflows/release.yml)")
			}
		}
	}
	if kind == KindNamespaced {
		if w := lintNoOp(spec); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// ApplyWarnings are the warnings for whoever applies the policy: why it does not compile, if
// it does not, then its Warnings.
func (p *Policy) ApplyWarnings() []string {
	if p.Err == nil {
		return p.Warnings
	}
	effect := map[v1alpha1.Mode]string{
		v1alpha1.ModeEnforce: "it will deny the images it covers",
		v1alpha1.ModeWarn:    "it will warn about every image it covers",
		v1alpha1.ModeAudit:   "it will report every image it covers as failing",
	}[p.Mode]
	// An error may span lines (Rego's do); a warning header cannot.
	msg := "this policy does not compile: " + strings.Join(strings.Fields(p.Err.Error()), " ") + "; " + effect
	return append([]string{msg}, p.Warnings...)
}

// lintRegExp warns about an identity regular expression not anchored at both ends: RE2
// matches anywhere in the text unless told otherwise.
func lintRegExp(field, expr, alsoMatches string) string {
	if expr == "" || anchored(expr) {
		return ""
	}
	fixed := expr
	if !strings.HasPrefix(fixed, "^") {
		fixed = "^" + fixed
	}
	if !strings.HasSuffix(fixed, "$") || strings.HasSuffix(fixed, `\$`) {
		fixed += "$"
	}
	if !anchored(fixed) { // a top-level | needs a group
		fixed = "^(?:" + expr + ")$"
	}
	return fmt.Sprintf("%s %s is not anchored with ^ and $, so it also matches %s; write %s", field, quoteRegExp(expr), alsoMatches, quoteRegExp(fixed))
}

// quoteRegExp quotes a regular expression as it is written in YAML, backslashes and all.
func quoteRegExp(expr string) string {
	if strconv.CanBackquote(expr) {
		return "`" + expr + "`"
	}
	return strconv.Quote(expr)
}

// anchored reports whether every match of expr must span the whole text. An expression that
// does not parse counts as anchored: that is a compile error, not a warning.
func anchored(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return true
	}
	return anchoredAt(re, 0) && anchoredAt(re, -1)
}

// anchoredAt reports whether re begins (end 0) or ends (end -1) with \A or \z (^ and $).
func anchoredAt(re *syntax.Regexp, end int) bool {
	switch re.Op {
	case syntax.OpBeginText:
		return end == 0
	case syntax.OpEndText:
		return end == -1
	case syntax.OpCapture:
		return anchoredAt(re.Sub[0], end)
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			return false
		}
		if end == 0 {
			return anchoredAt(re.Sub[0], end)
		}
		return anchoredAt(re.Sub[len(re.Sub)-1], end)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredAt(sub, end) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}

// lintGlob warns about a glob that can match no image, or more than it seems to.
func lintGlob(field, raw string) []string {
	g, err := compileGlob(raw)
	if err != nil {
		return nil // a compile error
	}
	p := g.pattern
	host, repo, hasRepo := strings.Cut(p, "/")
	switch {
	case !hasRepo && !strings.Contains(p, "**"):
		return []string{fmt.Sprintf("%s %q matches no image: images are matched as registry/repository (index.docker.io/library/nginx) "+
			"and * never crosses a /; write \"**\" for every image, or name the registry (\"registry.example.com/**\")", field, raw)}
	case hasRepo && strings.Contains(repo, ":"):
		fix := "remove the tag"
		if q := strings.ToLower(strings.TrimSpace(raw)); strings.LastIndex(q, ":") > strings.LastIndex(q, "/") {
			fix = fmt.Sprintf("write %q", q[:strings.LastIndex(q, ":")])
		}
		return []string{fmt.Sprintf("%s %q matches no image: a glob matches the repository without tag or digest; %s", field, raw, fix)}
	}
	var out []string
	if w := lintGluedStars(field, raw, g); w != "" {
		out = append(out, w)
	}
	if hasRepo && !strings.Contains(host, "**") {
		if w := lintHostStar(field, raw, host, repo, g); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// lintGluedStars warns about a ** joined to other characters (ghcr.io/acme**): it crosses
// segments, so it also matches repositories beside the one it seems to name.
func lintGluedStars(field, raw string, g glob) string {
	p := strings.ToLower(strings.TrimSpace(raw))
	var fixed, example strings.Builder
	glued := false
	for i := 0; i < len(p); i++ {
		if !strings.HasPrefix(p[i:], "**") {
			if p[i] == '*' {
				example.WriteString("x")
			} else {
				example.WriteByte(p[i])
			}
			fixed.WriteByte(p[i])
			continue
		}
		before := i > 0 && p[i-1] != '/'
		after := i+2 < len(p) && p[i+2] != '/'
		inHost := !strings.Contains(p[:i], "/")
		switch {
		case before:
			fixed.WriteString("/**")
			example.WriteString("-evil/x")
		case after && inHost:
			fixed.WriteString("*")
			example.WriteString("evil.io/x")
		case after:
			fixed.WriteString("**/*")
			example.WriteString("evil/x")
		default:
			fixed.WriteString("**")
			example.WriteString("x/x")
		}
		glued = glued || before || after
		i++
	}
	if !glued {
		return ""
	}
	also := ""
	if img, err := ParseImage(example.String()); err == nil && g.match(img.Repo) {
		also = fmt.Sprintf(" (such as %s)", img.Repo)
	}
	return fmt.Sprintf("%s %q has ** joined to other characters, so it crosses into repositories it does not name%s; write %q",
		field, raw, also, fixed.String())
}

// lintHostStar warns about a * in the registry host that hosts anyone can run also match
// (ghcr.io*, *ghcr.io, *.io). A bare * (any registry) is meant, and *.example.com or
// *-registry.example.com are bound to a domain. Normalization leaves a glob with a * in its host as written: host/repo.
func lintHostStar(field, raw, host, repo string, g glob) string {
	hostname, port, hasPort := strings.Cut(host, ":")
	last := strings.LastIndex(hostname, "*")
	if last < 0 || hostname == "*" {
		return ""
	}
	// What follows the last * must hold a whole domain of two or more labels.
	if _, domain, ok := strings.Cut(hostname[last+1:], "."); ok && plainHost.MatchString(domain) {
		return ""
	}
	var ex strings.Builder
	for i := 0; i < len(hostname); i++ {
		switch {
		case hostname[i] != '*':
			ex.WriteByte(hostname[i])
		case i < len(hostname)-1:
			ex.WriteString("evil")
		case i > 0 && hostname[i-1] == '.':
			ex.WriteString("evil.io")
		default:
			ex.WriteString(".evil.io")
		}
	}
	if hasPort {
		ex.WriteString(":" + strings.ReplaceAll(port, "*", "5000"))
	}
	also := ""
	if img, err := ParseImage(ex.String() + "/" + strings.ReplaceAll(repo, "*", "x")); err == nil && g.match(img.Repo) {
		also = fmt.Sprintf(" (such as %s)", img.Registry)
	}
	fix := "name the registry in full, or use * only before a domain you control (*.example.com)"
	if bare := strings.ReplaceAll(hostname, "*", ""); plainHost.MatchString(bare) {
		if hasPort {
			bare += ":" + port
		}
		fix = fmt.Sprintf("write %q, or use * only before a domain you control (*.example.com)", bare+"/"+repo)
	}
	return fmt.Sprintf("%s %q has a * in the registry host that hosts anyone can run also match%s; %s", field, raw, also, fix)
}

// plainHost is a host name of two or more labels.
var plainHost = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)+$`)

// lintNoOp warns about an ImagePolicy that can never fail: an ImagePolicy only adds
// requirements to the ClusterImagePolicies and does not decide coverage (noMatch), so one whose
// threshold static pass authorities meet alone, without Rego, does nothing.
func lintNoOp(spec *v1alpha1.ImagePolicySpec) string {
	if spec.Rego != "" {
		return ""
	}
	threshold := 1
	if spec.Threshold != nil {
		threshold = int(*spec.Threshold)
	}
	pass := 0
	for _, a := range spec.Authorities {
		if a.Static != nil && a.Static.Action == v1alpha1.StaticPass {
			pass++
		}
	}
	if threshold < 1 || pass < threshold {
		return ""
	}
	return fmt.Sprintf("spec.authorities: this ImagePolicy can never fail, because static pass authorities alone meet its threshold (%d) "+
		"and it has no rego; an ImagePolicy only adds requirements to the ClusterImagePolicies and does not decide which images are covered "+
		"(noMatch), so it does nothing; add a key or keyless authority, raise the threshold, or add rego, or delete it", threshold)
}
