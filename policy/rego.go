package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// regoPackage is the package every Portcullis Rego module declares.
const regoPackage = "data.portcullis"

// unsafeBuiltins are refused in policies: an admission decision must not reach the network or
// read the process's environment.
var unsafeBuiltins = map[string]struct{}{
	"http.send":          {},
	"net.lookup_ip_addr": {},
	"opa.runtime":        {},
}

// rules is a Rego v1 module of package portcullis, parsed, compiled and prepared once.
type rules struct {
	query rego.PreparedEvalQuery
}

// compileRules prepares a module whose `deny contains msg` (and optional `warn contains msg`)
// rules give the reasons to refuse or warn.
func compileRules(src string) (*rules, error) {
	m, err := ast.ParseModuleWithOpts("policy.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("parsing Rego: %w", err)
	}
	if got := m.Package.Path.String(); got != regoPackage {
		return nil, fmt.Errorf("Rego module declares %s; it must be package portcullis", got)
	}
	if !definesRule(m, "deny") && !definesRule(m, "warn") {
		return nil, fmt.Errorf("Rego module defines neither deny nor warn")
	}
	q, err := rego.New(
		rego.Query(regoPackage),
		rego.ParsedModule(m),
		rego.SetRegoVersion(ast.RegoV1),
		rego.UnsafeBuiltins(unsafeBuiltins),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(context.Background())
	if err != nil {
		return nil, fmt.Errorf("compiling Rego: %w", err)
	}
	return &rules{query: q}, nil
}

func definesRule(m *ast.Module, name string) bool {
	for _, r := range m.Rules {
		if r.Head.Name.String() == name || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.String() == name) {
			return true
		}
	}
	return false
}

// eval returns the deny and warn messages the module gives for input. An evaluation error is
// returned as an error, and the caller denies with it.
func (r *rules) eval(ctx context.Context, input ast.Value) (deny, warn []string, err error) {
	rs, err := r.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, nil, fmt.Errorf("evaluating Rego: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil, nil
	}
	doc, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("evaluating Rego: package portcullis is not an object")
	}
	if deny, err = messages(doc, "deny"); err != nil {
		return nil, nil, err
	}
	if warn, err = messages(doc, "warn"); err != nil {
		return nil, nil, err
	}
	return deny, warn, nil
}

// messages reads rule name of doc as a set of messages; strings are used as they are and other
// values as JSON.
func messages(doc map[string]any, name string) ([]string, error) {
	v, ok := doc[name]
	if !ok {
		return nil, nil
	}
	set, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("Rego rule %s must be a set of messages (%s contains msg if {...}), got %T", name, name, v)
	}
	out := make([]string, 0, len(set))
	for _, x := range set {
		if s, ok := x.(string); ok {
			out = append(out, s)
			continue
		}
		b, _ := json.Marshal(x)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out, nil
}
