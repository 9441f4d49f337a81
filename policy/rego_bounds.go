package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Bounds on one evaluation of a policy's Rego. OPA has no memory limit: a loop is stopped by
// cancellation, which OPA checks between steps, and what one builtin call allocates at once is
// refused before the call or charged after it. The README ("Rego builtins and bounds") lists them.
const (
	// regoTimeout stops an evaluation; a real policy takes well under 10 ms, and it is far
	// shorter than the admission deadline, so the other policies of a request are still judged.
	regoTimeout = time.Second
	// regoMaxElems is the most elements one builtin call may produce (numbers.range, split,
	// array.concat, ...), checked before the call where the arguments tell.
	regoMaxElems = 100_000
	// regoMaxValue is the most bytes one string a builtin call produces may have (sprintf,
	// concat, json.marshal, ...), checked before the call where the arguments tell.
	regoMaxValue = 4 << 20
	// regoMaxAlloc is the most bytes all the builtin calls of one evaluation may produce.
	regoMaxAlloc = 32 << 20
	// regoElemBytes is what one element of a produced array, set or object is charged as.
	regoElemBytes = 64
	// regoMaxWidth is the largest width or precision a sprintf verb may ask for.
	regoMaxWidth = 1000
	// regoMaxDigits is the longest number (or decimal exponent) a bounded builtin accepts.
	regoMaxDigits = 1000
	// regoMaxMessages and regoMaxMessageBytes bound what deny and warn give back.
	regoMaxMessages     = 20
	regoMaxMessageBytes = 2048
)

// evalBound is one evaluation's cancellation (OPA checks it between steps) and its allocation
// account. OPA hands it to every bounded builtin as BuiltinContext.Cancel.
type evalBound struct {
	stopped atomic.Bool
	reason  atomic.Pointer[string]
	alloc   atomic.Int64
}

var _ topdown.Cancel = (*evalBound)(nil)

// Cancel stops the evaluation at OPA's next check.
func (b *evalBound) Cancel() { b.stop("cancelled") }

// Cancelled reports whether the evaluation must stop.
func (b *evalBound) Cancelled() bool { return b.stopped.Load() }

// stop records the first reason and stops the evaluation.
func (b *evalBound) stop(reason string) {
	b.reason.CompareAndSwap(nil, &reason)
	b.stopped.Store(true)
}

// why is the reason the evaluation was stopped, or "".
func (b *evalBound) why() string {
	if r := b.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// refuse stops the evaluation with reason.
func (b *evalBound) refuse(reason string) error {
	b.stop(reason)
	return errors.New(reason)
}

// charge counts what builtin produced, refusing a value or a total over the bounds.
func (b *evalBound) charge(builtin string, v ast.Value) error {
	if n := elements(v); n > regoMaxElems {
		return b.refuse(fmt.Sprintf("%s produced %d elements, over the limit of %d per value", builtin, n, regoMaxElems))
	}
	n := shallowSize(v)
	if elements(v) == 0 && n > regoMaxValue {
		return b.refuse(fmt.Sprintf("%s produced a value of %d bytes, over the limit of %d per value", builtin, n, regoMaxValue))
	}
	if n < regoElemBytes {
		return nil // a small number or string: a long loop of them is for the time bound
	}
	if total := b.alloc.Add(n); total > regoMaxAlloc {
		return b.refuse(fmt.Sprintf("builtins produced over %d bytes in one evaluation (the limit), %s last", regoMaxAlloc, builtin))
	}
	return nil
}

func elements(v ast.Value) int {
	switch v := v.(type) {
	case *ast.Array:
		return v.Len()
	case ast.Set:
		return v.Len()
	case ast.Object:
		return v.Len()
	}
	return 0
}

// shallowSize is what producing v allocated: its bytes, or its elements (whose own values the
// builtin's arguments held already).
func shallowSize(v ast.Value) int64 {
	switch v := v.(type) {
	case ast.String:
		return int64(len(v))
	case ast.Number:
		return int64(len(v))
	}
	return int64(elements(v)) * regoElemBytes
}

// deepSize is about the size of v written out (as JSON, or by sprintf), counting a value as
// often as it is referenced; it stops counting past limit, so it costs at most O(limit).
func deepSize(v ast.Value, limit int64) int64 {
	var n int64
	var walk func(v ast.Value) bool
	walk = func(v ast.Value) bool {
		switch v := v.(type) {
		case ast.String:
			n += int64(len(v)) + 2
		case ast.Number:
			if bigNumber(v) {
				n = limit + 1
			} else {
				n += int64(len(v))
			}
		case *ast.Array:
			n += 2
			for i := 0; i < v.Len() && n <= limit; i++ {
				n++
				walk(v.Elem(i).Value)
			}
		case ast.Set:
			n += 2
			_ = v.Iter(func(t *ast.Term) error {
				n++
				if walk(t.Value); n > limit {
					return errStop
				}
				return nil
			})
		case ast.Object:
			n += 2
			_ = v.Iter(func(k, x *ast.Term) error {
				n += 2
				walk(k.Value)
				if walk(x.Value); n > limit {
					return errStop
				}
				return nil
			})
		default:
			n += 5
		}
		return n <= limit
	}
	walk(v)
	return n
}

var errStop = errors.New("stop")

// bigNumber reports a number with more than regoMaxDigits digits or a decimal exponent over
// regoMaxDigits, which formatting or big-integer arithmetic would expand.
func bigNumber(n ast.Number) bool {
	s := string(n)
	if len(s) > regoMaxDigits {
		return true
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		return err != nil || exp > regoMaxDigits || exp < -regoMaxDigits
	}
	return false
}

// sizeCheck refuses a call whose result the arguments already say is too large.
type sizeCheck func(args []*ast.Term) error

func overValue(what string, n int64) error {
	if n > regoMaxValue {
		return fmt.Errorf("%s would be %d bytes or more, over the limit of %d per value", what, n, regoMaxValue)
	}
	return nil
}

func str(t *ast.Term) int64 {
	if s, ok := t.Value.(ast.String); ok {
		return int64(len(s))
	}
	return 0
}

func checkRange(args []*ast.Term) error {
	lo, ok1 := args[0].Value.(ast.Number)
	hi, ok2 := args[1].Value.(ast.Number)
	if !ok1 || !ok2 {
		return nil // OPA reports the type error
	}
	a, _ := lo.Float64()
	z, _ := hi.Float64()
	step := 1.0
	if len(args) > 2 {
		if s, ok := args[2].Value.(ast.Number); ok {
			if step, _ = s.Float64(); step < 1 {
				return nil // OPA refuses a step below 1
			}
		}
	}
	if n := (max(a, z)-min(a, z))/step + 1; n > regoMaxElems {
		return fmt.Errorf("the range would have %.0f elements, over the limit of %d", n, regoMaxElems)
	}
	return nil
}

func checkSprintf(args []*ast.Term) error {
	format, ok := args[0].Value.(ast.String)
	if !ok {
		return nil
	}
	if err := checkVerbs(string(format)); err != nil {
		return err
	}
	return overValue("the result", int64(len(format))+deepSize(args[1].Value, regoMaxValue))
}

// checkVerbs refuses a * width and a width or precision over regoMaxWidth, which fmt would pad to.
func checkVerbs(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.*[]", format[i]) >= 0; i++ {
			if format[i] == '*' {
				return errors.New("a * width or precision is not allowed")
			}
			j := i
			for j < len(format) && format[j] >= '0' && format[j] <= '9' {
				j++
			}
			if j > i {
				if n, err := strconv.Atoi(format[i:j]); err != nil || n > regoMaxWidth {
					return fmt.Errorf("width or precision %s is over the limit of %d", format[i:j], regoMaxWidth)
				}
				i = j - 1
			}
		}
	}
	return nil
}

func checkConcat(args []*ast.Term) error {
	sep := str(args[0])
	var n, count int64
	add := func(t *ast.Term) error {
		n += str(t) + sep
		count++
		if n > regoMaxValue {
			return errStop
		}
		return nil
	}
	switch c := args[1].Value.(type) {
	case *ast.Array:
		c.Until(func(t *ast.Term) bool { return add(t) != nil })
	case ast.Set:
		_ = c.Iter(add)
	}
	return overValue("the result", n)
}

// checkReplace bounds replace(s, old, new): at most one new per rune boundary of s.
func checkReplace(args []*ast.Term) error {
	s, ok := args[0].Value.(ast.String)
	if !ok {
		return nil
	}
	old := str(args[1])
	per := int64(utf8.RuneCountInString(string(s))) + 1
	if old > 0 {
		per = int64(len(s))/old + 1
	}
	return overValue("the result", int64(len(s))+per*str(args[2]))
}

// checkReplaceN bounds strings.replace_n(patterns, s) as replace with its longest replacement.
func checkReplaceN(args []*ast.Term) error {
	s, ok := args[1].Value.(ast.String)
	obj, ok2 := args[0].Value.(ast.Object)
	if !ok || !ok2 {
		return nil
	}
	var longest int64
	obj.Foreach(func(_, v *ast.Term) { longest = max(longest, str(v)) })
	return overValue("the result", int64(len(s))+(int64(utf8.RuneCountInString(string(s)))+1)*longest)
}

// checkRegexReplace bounds regex.replace(s, pattern, value): a pattern can match the empty
// string at every position.
func checkRegexReplace(args []*ast.Term) error {
	s := str(args[0])
	return overValue("the result", s+(s+1)*str(args[2]))
}

func checkMarshal(args []*ast.Term) error {
	return overValue("the JSON", deepSize(args[0].Value, regoMaxValue))
}

// checkNumbers refuses a number operand that formatting or big-integer arithmetic would expand.
func checkNumbers(args []*ast.Term) error {
	for _, a := range args {
		if n, ok := a.Value.(ast.Number); ok && bigNumber(n) {
			return fmt.Errorf("a number of more than %d digits is not allowed", regoMaxDigits)
		}
	}
	return nil
}

// bounded wraps OPA's implementation of builtin: it refuses the call if check or the number
// operands say the result is too large, and charges the result to the evaluation.
func bounded(builtin string, check sizeCheck) rego.BuiltinDyn {
	impl := topdown.GetBuiltin(builtin)
	return func(bctx rego.BuiltinContext, args []*ast.Term) (*ast.Term, error) {
		b, ok := bctx.Cancel.(*evalBound)
		if !ok {
			return nil, rego.NewHaltError(errors.New("evaluated without Portcullis's bounds"))
		}
		err := checkNumbers(args)
		if err == nil && check != nil {
			err = check(args)
		}
		if err != nil {
			b.stop(builtin + ": " + err.Error())
			return nil, rego.NewHaltError(err)
		}
		var out *ast.Term
		if err := impl(bctx, args, func(t *ast.Term) error { out = t; return nil }); err != nil {
			return nil, err
		}
		if out != nil {
			if err := b.charge(builtin, out.Value); err != nil {
				return nil, rego.NewHaltError(err)
			}
		}
		return out, nil
	}
}
