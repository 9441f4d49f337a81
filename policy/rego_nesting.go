package policy

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// regoMaxTerms is the most terms one value in a module may stand for once the rules and
// variables it names are written out in full. OPA's type checker walks a value's type as a
// tree, so rules that each nest the one before twice (a1 := [a0, a0], a2 := [a1, a1], ...)
// would keep compilation busy for ever; they are refused before OPA sees them.
const regoMaxTerms = 100_000

// checkNesting refuses a module with a value over regoMaxTerms. Sizes of rules and variables
// are computed once each, so the check is linear in the module.
func checkNesting(m *ast.Module) error {
	n := nesting{rules: map[ast.Var][]*ast.Rule{}, sizes: map[ast.Var]int64{}}
	for _, r := range m.Rules {
		name := ruleName(r)
		n.rules[name] = append(n.rules[name], r)
	}
	for _, r := range m.Rules {
		if size := n.rule(ruleName(r)); size > regoMaxTerms {
			return fmt.Errorf("rule %s stands for more than %d terms once the rules and variables it names are written out; "+
				"to fix: do not nest a rule's value in the next one's", ruleName(r), regoMaxTerms)
		}
	}
	return n.err
}

type nesting struct {
	rules map[ast.Var][]*ast.Rule
	sizes map[ast.Var]int64 // rule name to its size; -1 while it is being computed
	err   error
}

func ruleName(r *ast.Rule) ast.Var {
	if len(r.Head.Reference) > 0 {
		if v, ok := r.Head.Reference[0].Value.(ast.Var); ok {
			return v
		}
	}
	return r.Head.Name
}

// rule is the largest size of name's values, keys and bodies' variables over its definitions.
func (n *nesting) rule(name ast.Var) int64 {
	if s, ok := n.sizes[name]; ok {
		return max(s, 1) // a rule that names itself is an error OPA reports
	}
	n.sizes[name] = -1
	var size int64 = 1
	for _, r := range n.rules[name] {
		for ; r != nil; r = r.Else {
			locals := map[ast.Var]int64{}
			for _, a := range r.Head.Args {
				ast.WalkVars(a, func(v ast.Var) bool { locals[v] = 1; return false })
			}
			n.body(r.Body, locals)
			for _, t := range []*ast.Term{r.Head.Key, r.Head.Value} {
				if t != nil {
					size = max(size, n.term(t, locals))
				}
			}
		}
	}
	n.sizes[name] = size
	return size
}

// body records the size of every variable body assigns, in locals.
func (n *nesting) body(b ast.Body, locals map[ast.Var]int64) {
	for _, x := range b {
		switch t := x.Terms.(type) {
		case []*ast.Term:
			switch {
			case x.IsAssignment() || x.IsEquality():
				n.assign(t[1], t[2], locals)
			case x.IsCall():
				// f(a, out): out is what f(a) would be
				if f, arity := n.function(t[0]); f != "" && len(t) > arity+1 {
					size := n.call(f, t[1:arity+1], locals)
					for _, out := range t[arity+1:] {
						ast.WalkVars(out, func(v ast.Var) bool { locals[v] = max(locals[v], size); return false })
					}
				}
			}
		case *ast.SomeDecl:
			for _, s := range t.Symbols {
				if call, ok := s.Value.(ast.Call); ok && len(call) > 2 {
					coll := n.term(call[len(call)-1], locals)
					for _, v := range call[1 : len(call)-1] {
						ast.WalkVars(v, func(v ast.Var) bool { locals[v] = max(locals[v], coll); return false })
					}
				}
			}
		}
		n.limit(locals)
	}
}

// assign gives the variables on either side of a = b or a := b the size of the other side.
func (n *nesting) assign(a, b *ast.Term, locals map[ast.Var]int64) {
	sa, sb := n.term(a, locals), n.term(b, locals)
	if v, ok := a.Value.(ast.Var); ok {
		locals[v] = max(locals[v], sb)
	}
	if v, ok := b.Value.(ast.Var); ok {
		locals[v] = max(locals[v], sa)
	}
}

func (n *nesting) limit(locals map[ast.Var]int64) {
	for v, s := range locals {
		if s > regoMaxTerms && n.err == nil {
			n.err = fmt.Errorf("variable %s stands for more than %d terms once the rules and variables it names are written out; "+
				"to fix: do not nest a value in the next one", v, regoMaxTerms)
		}
	}
}

// term is the size of t written out, up to just past regoMaxTerms.
func (n *nesting) term(t *ast.Term, locals map[ast.Var]int64) int64 {
	var size int64
	switch v := t.Value.(type) {
	case ast.Var:
		size = n.name(v, locals)
	case ast.Ref:
		size = n.ref(v, locals)
	case *ast.Array:
		size = 1
		v.Foreach(func(e *ast.Term) { size += n.term(e, locals) })
	case ast.Set:
		size = 1
		v.Foreach(func(e *ast.Term) { size += n.term(e, locals) })
	case ast.Object:
		size = 1
		v.Foreach(func(k, e *ast.Term) { size += n.term(k, locals) + n.term(e, locals) })
	case *ast.ArrayComprehension:
		size = 1 + n.comprehension(v.Body, locals, v.Term)
	case *ast.SetComprehension:
		size = 1 + n.comprehension(v.Body, locals, v.Term)
	case *ast.ObjectComprehension:
		size = 1 + n.comprehension(v.Body, locals, v.Key, v.Value)
	case ast.Call:
		size = 1 // a builtin's result, charged when it runs
		if f, arity := n.function(v[0]); f != "" {
			size = n.call(f, v[1:min(len(v), arity+1)], locals)
		}
	default:
		size = 1
	}
	return min(size, regoMaxTerms+1)
}

func (n *nesting) comprehension(b ast.Body, outer map[ast.Var]int64, heads ...*ast.Term) int64 {
	locals := make(map[ast.Var]int64, len(outer))
	for v, s := range outer {
		locals[v] = s
	}
	n.body(b, locals)
	var size int64
	for _, h := range heads {
		size += n.term(h, locals)
	}
	return size
}

// function names the module's function that op calls, and its arity, or "".
func (n *nesting) function(op *ast.Term) (ast.Var, int) {
	r, ok := op.Value.(ast.Ref)
	if !ok {
		return "", 0
	}
	var name ast.Var
	switch {
	case len(r) == 1:
		name, _ = r[0].Value.(ast.Var)
	case len(r) == 3 && r.HasPrefix(regoPackageRef):
		if s, ok := r[2].Value.(ast.String); ok {
			name = ast.Var(s)
		}
	}
	defs := n.rules[name]
	if len(defs) == 0 || len(defs[0].Head.Args) == 0 {
		return "", 0
	}
	return name, len(defs[0].Head.Args)
}

// call bounds the size of f(args): f's value, sized with arguments of size 1, grows at most
// linearly with its arguments.
func (n *nesting) call(f ast.Var, args []*ast.Term, locals map[ast.Var]int64) int64 {
	var in int64 = 1
	for _, a := range args {
		in = min(in+n.term(a, locals), regoMaxTerms+1)
	}
	return min(n.rule(f)*in, regoMaxTerms+1)
}

func (n *nesting) name(v ast.Var, locals map[ast.Var]int64) int64 {
	if s, ok := locals[v]; ok {
		return s
	}
	if _, ok := n.rules[v]; ok {
		return n.rule(v)
	}
	return 1
}

var regoPackageRef = ast.MustParseRef(regoPackage)

// ref is the size of what r selects from, data.portcullis.x being rule x.
func (n *nesting) ref(r ast.Ref, locals map[ast.Var]int64) int64 {
	if r.HasPrefix(regoPackageRef) && len(r) > 2 {
		if s, ok := r[2].Value.(ast.String); ok {
			return n.name(ast.Var(s), nil)
		}
		return 1
	}
	if v, ok := r[0].Value.(ast.Var); ok {
		return n.name(v, locals)
	}
	return 1
}
