package policy

import (
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// regoBuiltins are the OPA builtins a Portcullis policy may call: what rules over an image,
// its verified signers and predicates (SBOM, provenance) and the admitted object need. Nothing
// reaches the network, the process, randomness or key material, and nothing whose cost is
// hard to bound (YAML aliases, templates, walk and graph walks, big-integer bit shifts, CIDR
// expansion) is offered. The README's "Rego builtins and bounds" lists them; keep the two in step.
var regoBuiltins = []string{
	// operators and membership
	"eq", "assign", "equal", "neq", "gt", "gte", "lt", "lte", "and", "or",
	"plus", "minus", "mul", "div", "rem", "internal.member_2", "internal.member_3",
	"print", "internal.print", // removed by the compiler: print output is not enabled
	// numbers and aggregates
	"abs", "ceil", "floor", "round", "to_number", "format_int", "numbers.range", "numbers.range_step",
	"count", "sum", "max", "min", "sort",
	// strings
	"concat", "contains", "endswith", "startswith", "indexof", "indexof_n", "lower", "upper",
	"replace", "split", "sprintf", "substring", "trim", "trim_left", "trim_prefix", "trim_right",
	"trim_space", "trim_suffix", "strings.any_prefix_match", "strings.any_suffix_match",
	"strings.count", "strings.replace_n", "strings.reverse",
	// regular expressions (RE2) and globs
	"regex.match", "regex.is_valid", "regex.split", "regex.find_n", "regex.find_all_string_submatch_n",
	"regex.replace", "glob.match", "glob.quote_meta",
	// types
	"is_array", "is_boolean", "is_null", "is_number", "is_object", "is_set", "is_string", "type_name",
	// arrays, sets, objects
	"array.concat", "array.reverse", "array.slice", "intersection", "union", "object.filter",
	"object.get", "object.keys", "object.remove", "object.subset", "object.union", "object.union_n",
	"json.filter", "json.remove",
	// encodings and digests
	"json.marshal", "json.unmarshal", "json.is_valid", "base64.encode", "base64.decode",
	"base64.is_valid", "base64url.encode", "base64url.encode_no_pad", "base64url.decode",
	"hex.encode", "hex.decode", "urlquery.encode", "urlquery.decode", "urlquery.encode_object",
	"urlquery.decode_object", "crypto.sha256", "crypto.sha1", "crypto.md5",
	// time, versions, units
	"time.now_ns", "time.parse_ns", "time.parse_rfc3339_ns", "time.parse_duration_ns", "time.format",
	"time.date", "time.clock", "time.weekday", "time.add_date", "time.diff",
	"semver.compare", "semver.is_valid", "units.parse", "units.parse_bytes",
}

// regoBounded are the allowed builtins that build values. Calls to them are rewritten to a
// bounded copy (boundedPrefix + name) that checks its arguments and charges its result; OPA
// gives its own builtins no per-evaluation state to do that in place.
var regoBounded = map[string]sizeCheck{
	"plus": nil, "minus": nil, "mul": nil, "div": nil, "rem": nil, "abs": nil, "round": nil,
	"ceil": nil, "floor": nil, "to_number": nil, "format_int": nil, "sum": nil,
	"numbers.range": checkRange, "numbers.range_step": checkRange, "sort": nil,
	"concat": checkConcat, "sprintf": checkSprintf, "replace": checkReplace,
	"strings.replace_n": checkReplaceN, "regex.replace": checkRegexReplace, "lower": nil,
	"upper": nil, "split": nil, "strings.reverse": nil, "indexof_n": nil, "regex.split": nil,
	"regex.find_n": nil, "regex.find_all_string_submatch_n": nil, "array.concat": nil,
	"array.reverse": nil, "array.slice": nil, "intersection": nil, "union": nil,
	"object.filter": nil, "object.keys": nil, "object.remove": nil, "object.union": nil,
	"object.union_n": nil, "json.filter": nil, "json.remove": nil, "json.marshal": checkMarshal,
	"json.unmarshal": nil, "base64.encode": nil, "base64.decode": nil, "base64url.encode": nil,
	"base64url.encode_no_pad": nil, "base64url.decode": nil, "hex.encode": nil, "hex.decode": nil,
	"urlquery.encode": nil, "urlquery.decode": nil, "urlquery.encode_object": nil,
	"urlquery.decode_object": nil, "time.format": nil, "units.parse": nil, "units.parse_bytes": nil,
}

// boundedPrefix names the bounded copies; OPA's messages about a call show it.
const boundedPrefix = "bounded."

// regoEnv is what every module is compiled with: the allowlist as OPA capabilities, and the
// declarations and implementations of the bounded copies. It is built once and only read.
type regoEnv struct {
	capabilities *ast.Capabilities
	allowed      map[string]bool
	bounded      map[string]ast.Ref // builtin name to the bounded copy's ref
	funcs        []func(*rego.Rego)
}

var env = sync.OnceValue(func() *regoEnv {
	e := &regoEnv{allowed: map[string]bool{}, bounded: map[string]ast.Ref{}}
	for _, name := range regoBuiltins {
		e.allowed[name] = true
	}
	caps := ast.CapabilitiesForThisVersion()
	var kept []*ast.Builtin
	for _, b := range caps.Builtins {
		if e.allowed[b.Name] {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	e.capabilities = caps
	for name, check := range regoBounded {
		orig := ast.BuiltinMap[name]
		e.bounded[name] = ast.MustParseRef(boundedPrefix + name)
		e.funcs = append(e.funcs, rego.FunctionDyn(&rego.Function{Name: boundedPrefix + name, Decl: orig.Decl}, bounded(name, check)))
	}
	return e
})

// checkBuiltins refuses a module that calls an OPA builtin outside the allowlist, naming it.
func checkBuiltins(m *ast.Module) error {
	e := env()
	var err error
	ast.WalkTerms(m, func(t *ast.Term) bool {
		call, ok := t.Value.(ast.Call)
		if ok && err == nil {
			err = checkOperator(e, call[0])
		}
		return err != nil
	})
	ast.WalkExprs(m, func(x *ast.Expr) bool {
		if x.IsCall() && err == nil {
			err = checkOperator(e, x.Operator())
		}
		return err != nil
	})
	return err
}

func checkOperator(e *regoEnv, op any) error {
	var ref ast.Ref
	switch op := op.(type) {
	case *ast.Term:
		ref, _ = op.Value.(ast.Ref)
	case ast.Ref:
		ref = op
	}
	name := ref.String()
	if _, builtin := ast.BuiltinMap[name]; builtin && !e.allowed[name] {
		return fmt.Errorf("builtin %s is not allowed in Portcullis policies (see the README, \"Rego builtins and bounds\", for those that are)", name)
	}
	return nil
}

// boundCalls rewrites every call of a value-building builtin to its bounded copy, wherever it
// is: rule bodies, heads, comprehensions, some and every declarations.
func boundCalls(m *ast.Module) {
	e := env()
	// The operator's slot is replaced, not the term in it: the parser may share terms.
	rewrite := func(call []*ast.Term) {
		if r, ok := call[0].Value.(ast.Ref); ok {
			if b, ok := e.bounded[r.String()]; ok {
				call[0] = ast.NewTerm(b.Copy()).SetLocation(call[0].Location)
			}
		}
	}
	ast.WalkTerms(m, func(t *ast.Term) bool {
		if call, ok := t.Value.(ast.Call); ok {
			rewrite(call)
		}
		return false
	})
	ast.WalkExprs(m, func(x *ast.Expr) bool {
		if x.IsCall() {
			rewrite(x.Terms.([]*ast.Term))
		}
		return false
	})
}
