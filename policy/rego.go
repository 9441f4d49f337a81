package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// regoPackage is the package every Portcullis Rego module declares.
const regoPackage = "data.portcullis"

// regoQuery reads deny and warn alone, each as a one-element array or an empty one, so a
// helper rule's value is never converted and an undefined rule is not an error.
const regoQuery = "deny := [x | x := data.portcullis.deny]; warn := [x | x := data.portcullis.warn]"

// rules is a Rego v1 module of package portcullis, parsed, compiled and prepared once.
type rules struct {
	query rego.PreparedEvalQuery
}

// compileRules prepares a module whose `deny contains msg` (and optional `warn contains msg`)
// rules give the reasons to refuse or warn, or returns the module already prepared from the
// same source (see regoCache).
func compileRules(src string) (*rules, error) {
	return compiled.get(src)
}

// compileModule prepares src. It may call only the allowed builtins, and those that build
// values are replaced by their bounded copies.
func compileModule(src string) (*rules, error) {
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
	if err := checkBuiltins(m); err != nil {
		return nil, fmt.Errorf("compiling Rego: %w", err)
	}
	if err := checkNesting(m); err != nil {
		return nil, fmt.Errorf("compiling Rego: %w", err)
	}
	boundCalls(m)
	e := env()
	opts := append([]func(*rego.Rego){
		rego.Query(regoQuery),
		rego.ParsedModule(m),
		rego.SetRegoVersion(ast.RegoV1),
		rego.Capabilities(e.capabilities),
		rego.StrictBuiltinErrors(true),
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	}, e.funcs...)
	q, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		return nil, fmt.Errorf("compiling Rego: %s", unbounded(err))
	}
	// The prepared query evaluates the compiler's copy; the parsed module, which it also
	// keeps, is as large again.
	m.Rules, m.Comments, m.Imports = nil, nil, nil
	return &rules{query: q}, nil
}

// unbounded is err's message with the bounded copies called by the names the policy wrote.
func unbounded(err error) string {
	return strings.ReplaceAll(err.Error(), boundedPrefix, "")
}

func definesRule(m *ast.Module, name string) bool {
	for _, r := range m.Rules {
		if r.Head.Name.String() == name || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.String() == name) {
			return true
		}
	}
	return false
}

// eval returns the deny and warn messages the module gives for input, at most
// regoMaxMessages of each. An evaluation error, or one stopped by a bound, is returned as an
// error naming the bound, and the caller denies with it.
func (r *rules) eval(ctx context.Context, input ast.Value) (deny, warn []string, err error) {
	b := &evalBound{}
	ectx, cancel := context.WithTimeout(ctx, regoTimeout)
	defer cancel()
	defer context.AfterFunc(ectx, func() {
		if ctx.Err() != nil {
			b.stop("the admission's deadline passed")
			return
		}
		b.stop(fmt.Sprintf("it ran for more than %s (the limit)", regoTimeout))
	})()
	defer slow.watch(b)()
	rs, err := r.query.Eval(ectx, rego.EvalParsedInput(input), rego.EvalExternalCancel(b))
	if err != nil {
		if why := b.why(); why != "" {
			return nil, nil, fmt.Errorf("evaluating Rego: stopped: %s; to fix: make the rules do less work (see the README, \"Rego builtins and bounds\")", why)
		}
		return nil, nil, fmt.Errorf("evaluating Rego: %s", unbounded(err))
	}
	if len(rs) != 1 {
		return nil, nil, nil
	}
	if deny, err = messages(rs[0].Bindings, "deny"); err != nil {
		return nil, nil, err
	}
	if warn, err = messages(rs[0].Bindings, "warn"); err != nil {
		return nil, nil, err
	}
	return deny, warn, nil
}

// messages reads rule name as a set of messages; strings are used as they are and other
// values as JSON. Each is cut to regoMaxMessageBytes, and past regoMaxMessages one line says
// how many more there were.
func messages(b rego.Vars, name string) ([]string, error) {
	t, ok := b[name].(*ast.Term)
	if !ok {
		return nil, nil
	}
	found, ok := t.Value.(*ast.Array)
	if !ok || found.Len() == 0 {
		return nil, nil
	}
	var all *ast.Array
	switch v := found.Elem(0).Value.(type) {
	case ast.Set:
		all = v.Sorted()
	case *ast.Array:
		all = v
	default:
		return nil, fmt.Errorf("Rego rule %s must be a set of messages (%s contains msg if {...}), got %s", name, name, ast.ValueName(v))
	}
	out := make([]string, 0, min(all.Len(), regoMaxMessages+1))
	for i := 0; i < all.Len() && i < regoMaxMessages; i++ {
		out = append(out, message(all.Elem(i).Value))
	}
	sort.Strings(out)
	if more := all.Len() - regoMaxMessages; more > 0 {
		out = append(out, fmt.Sprintf("(and %d more %s messages; at most %d are shown)", more, name, regoMaxMessages))
	}
	return out, nil
}

// message is v as a string of at most regoMaxMessageBytes.
func message(v ast.Value) string {
	s, ok := v.(ast.String)
	if !ok {
		if deepSize(v, regoMaxMessageBytes) > regoMaxMessageBytes {
			return fmt.Sprintf("(a %s message over %d bytes)", ast.ValueName(v), regoMaxMessageBytes)
		}
		x, err := ast.JSON(v)
		if err != nil {
			return v.String()
		}
		b, _ := json.Marshal(x)
		s = ast.String(b)
	}
	if len(s) <= regoMaxMessageBytes {
		return string(s)
	}
	cut := regoMaxMessageBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return string(s[:cut]) + "… (cut at " + strconv.Itoa(regoMaxMessageBytes) + " bytes)"
}
