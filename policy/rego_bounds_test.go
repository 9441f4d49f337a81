package policy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/portcullis-dev/portcullis/internal/memtest"
)

// heapLimit is what the Go heap may reach while hostile Rego runs: half the chart's 512 MiB
// memory limit, leaving the rest to the caches and the executable.
const heapLimit = 256 << 20

// chain is a module whose rules a1..a40 each double the one before, written
// format(previous): an exponential value from linear source.
func chain(base, format, use string) string { return chainN(40, base, format, use) }

func chainN(n int, base, format, use string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package portcullis\ntwice(x) := [x, x]\na0 := %s\n", base)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "a%d := %s\n", i, strings.ReplaceAll(format, "X", fmt.Sprintf("a%d", i-1)))
	}
	return strings.ReplaceAll(b.String()+use+"\n", "aN", fmt.Sprintf("a%d", n))
}

// mib is a string of 1 MiB.
const mib = `concat("", ["0123456789abcdef" | some _ in numbers.range(1, 65536)])`

// stoppedSlow is how an evaluation that allocates little at a time ends: by the time limit, by
// what its builtins produced, or by the governor; which comes first depends on the machine.
const stoppedSlow = "it ran for more than 1s (the limit)|over the 192 MiB at which the longest evaluations are stopped|" +
	"builtins produced over 33554432 bytes in one evaluation (the limit)"

var hostile = []struct {
	name, rego string
	compile    string // the compile error, or "" if it compiles
	eval       string // the evaluation error it must stop with; alternatives are separated by |
}{
	{name: "numbers.range of 5e7", rego: `deny contains "x" if { count(numbers.range(0, 5e7)) > 0 }`,
		eval: "numbers.range: the range would have 50000001 elements, over the limit of 100000"},
	{name: "numbers.range_step", rego: `deny contains "x" if { count(numbers.range_step(0, 1e12, 2)) > 0 }`,
		eval: "over the limit of 100000"},
	{name: "comprehension over a huge range", rego: `deny contains "x" if { count([x | some x in numbers.range(0, 1e8)]) > 0 }`,
		eval: "numbers.range: the range would have 100000001 elements"},
	{name: "nested comprehensions", rego: `deny contains "x" if {
	xs := [[i, j, k] | some i in numbers.range(0, 99999); some j in numbers.range(0, 99999); some k in numbers.range(0, 99999)]
	count(xs) > 0 }`, eval: stoppedSlow},
	{name: "nested comprehensions of strings", rego: `deny contains "x" if {
	xs := {sprintf("%d-%d-%s", [i, j, concat("", ["abcdefgh" | some _ in numbers.range(0, 99)])]) | some i in numbers.range(0, 99999); some j in numbers.range(0, 99999)}
	count(xs) > 0 }`, eval: stoppedSlow},
	{name: "loop", rego: `deny contains "x" if { some i in numbers.range(0, 99999); some j in numbers.range(0, 99999); i * j < 0 }`,
		eval: stoppedSlow},
	{name: "nested rules", rego: chain(`"x"`, "[X, X]", `deny contains "x" if { count(a40) > 0 }`),
		compile: "rule a16 stands for more than 100000 terms"},
	{name: "nested variables", rego: `deny contains "x" if {
	a0 := "x"; a1 := [a0, a0]; a2 := {"a": a1, "b": a1}; a3 := {a2, [a2]}; a4 := [a3, a3]; a5 := [a4, a4]; a6 := [a5, a5]; a7 := [a6, a6]
	a8 := [a7, a7]; a9 := [a8, a8]; a10 := [a9, a9]; a11 := [a10, a10]; a12 := [a11, a11]; a13 := [a12, a12]; a14 := [a13, a13]
	a15 := [a14, a14]; a16 := [a15, a15]; a17 := [a16, a16]; a18 := [a17, a17]; a19 := [a18, a18]; a20 := [a19, a19]; count(a20) > 0 }`,
		compile: "variable a16 stands for more than 100000 terms"},
	{name: "nested comprehensions of a rule", rego: chain(`"x"`, "[y | some y in [X, X]]", `deny contains "x" if { count(a40) > 0 }`),
		compile: "stands for more than 100000 terms"},
	{name: "nested function calls", rego: chain(`"x"`, "twice(X)", `deny contains "x" if { count(a40) > 0 }`),
		compile: "stands for more than 100000 terms"},
	{name: "walk", rego: `deny contains "x" if { walk(input, [p, _]); count(p) > 100 }`, compile: "builtin walk is not allowed"},
	{name: "net.cidr_expand", rego: `deny contains "x" if { count(net.cidr_expand("0.0.0.0/0")) > 0 }`,
		compile: "builtin net.cidr_expand is not allowed in Portcullis policies"},
	{name: "sprintf width", rego: `deny contains msg if { msg := sprintf("%0999999999d", [1]) }`,
		eval: "sprintf: width or precision 0999999999 is over the limit of 1000"},
	{name: "sprintf * width", rego: `deny contains msg if { msg := sprintf("%*d", [999999999, 1]) }`,
		eval: "sprintf: a * width or precision is not allowed"},
	{name: "strings.repeat", rego: `deny contains msg if { msg := strings.repeat("x", 1e10) }`,
		compile: "undefined function strings.repeat"},
	{name: "concat doubling", rego: chain(`"0123456789abcdef"`, `concat("", [X, X])`, `deny contains "x" if { count(a40) > 0 }`),
		eval: "concat: the result would be"},
	{name: "replace doubling", rego: chain(`"0123456789abcdef"`, `replace(X, "", "ab")`, `deny contains "x" if { count(a40) > 0 }`),
		eval: "replace: the result would be"},
	{name: "json.marshal of a shared value", rego: chainN(3, mib, "twice(X)", `deny contains "x" if { count(json.marshal(aN)) > 0 }`),
		eval: "json.marshal: the JSON would be"},
	{name: "sprintf of a shared value", rego: chainN(3, mib, "twice(X)", `deny contains msg if { msg := sprintf("%v", [aN]) }`),
		eval: "sprintf: the result would be"},
	{name: "array.concat doubling", rego: chain(`["x"]`, "array.concat(X, X)", `deny contains "x" if { count(a40) > 0 }`),
		eval: "array.concat produced 131072 elements, over the limit of 100000 per value"},
	{name: "strings in a comprehension", rego: `deny contains "x" if {
	s := concat("", ["0123456789abcdef" | some _ in numbers.range(1, 65536)])
	xs := [upper(s) | some _ in numbers.range(1, 1000)]
	count(xs) > 0 }`, eval: "builtins produced over 33554432 bytes in one evaluation (the limit), upper last|it ran for more than 1s (the limit)"}, // a slow machine (-race) meets the time bound first
	{name: "squaring a number", rego: chain("10", "X * X", `deny contains "x" if { a40 > 0 }`),
		eval: "a number of more than 1000 digits is not allowed"},
	{name: "http.send", rego: `deny contains "x" if { http.send({"method": "GET", "url": "http://x"}).status_code != 200 }`,
		compile: "builtin http.send is not allowed in Portcullis policies"},
	{name: "opa.runtime", rego: `deny contains "x" if { opa.runtime().env.HOME }`, compile: "builtin opa.runtime is not allowed"},
	{name: "yaml.unmarshal", rego: `deny contains "x" if { yaml.unmarshal("a: 1") }`, compile: "builtin yaml.unmarshal is not allowed"},
	{name: "rand.intn", rego: `deny contains "x" if { rand.intn("k", 10) > 5 }`, compile: "builtin rand.intn is not allowed"},
	{name: "io.jwt.decode_verify", rego: `deny contains "x" if { io.jwt.decode_verify("a.b.c", {"secret": "s"}) }`, compile: "builtin io.jwt.decode_verify is not allowed"},
}

// TestRegoHostile shows every hostile module is refused at compile time or stopped with a
// reason naming the bound, while the heap stays under heapLimit.
func TestRegoHostile(t *testing.T) {
	input := ast.MustParseTerm(`{"image": {"repository": "team/a"}}`).Value
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			r, err := compileRules("package portcullis\n" + strings.TrimPrefix(tt.rego, "package portcullis\n"))
			if tt.compile != "" {
				if err == nil || !strings.Contains(err.Error(), tt.compile) {
					t.Fatalf("compile error %v, want %q", err, tt.compile)
				}
				return
			}
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var deny []string
			peak := heapPeak(t, func() { deny, _, err = r.eval(context.Background(), input) })
			if err == nil || !containsOne(err.Error(), tt.eval) {
				t.Fatalf("evaluation gave %q, %v; want an error with %q", deny, err, tt.eval)
			}
			t.Logf("%v; heap peak %d MiB", err, peak>>20)
		})
	}
}

// TestRegoHostileConcurrent runs every hostile module that compiles at once, four times over,
// as twenty admissions in twenty namespaces might: each is stopped, the heap stays under
// heapLimit, and an ordinary policy evaluated meanwhile still gives its answer.
func TestRegoHostileConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hostile policies for seconds")
	}
	input := ast.MustParseTerm(`{"image": {"repository": "team/a"}}`).Value
	var all []*rules
	for _, tt := range hostile {
		if tt.compile == "" {
			r, err := compileRules("package portcullis\n" + strings.TrimPrefix(tt.rego, "package portcullis\n"))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, r, r, r, r)
		}
	}
	ordinary, err := compileRules("package portcullis\ndeny contains msg if { input.image.repository == \"team/a\"; msg := \"no team/a\" }")
	if err != nil {
		t.Fatal(err)
	}
	var stopped atomic.Int32
	var answered []string
	peak := heapPeak(t, func() {
		var wg sync.WaitGroup
		for _, r := range all {
			wg.Go(func() {
				if _, _, err := r.eval(context.Background(), input); err != nil {
					stopped.Add(1)
				}
			})
		}
		time.Sleep(100 * time.Millisecond) // the hostile evaluations are under way
		deny, _, err := ordinary.eval(context.Background(), input)
		if err != nil {
			t.Errorf("ordinary policy: %v", err)
		}
		answered = deny
		wg.Wait()
	})
	if int(stopped.Load()) != len(all) {
		t.Errorf("%d of %d hostile evaluations stopped", stopped.Load(), len(all))
	}
	if len(answered) != 1 || answered[0] != "no team/a" {
		t.Errorf("ordinary policy denied with %q, want [no team/a]", answered)
	}
	t.Logf("%d hostile evaluations at once; heap peak %d MiB; %s", len(all), peak>>20, memtest.PeakRSS())
}

func containsOne(s, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

// heapPeak runs f and returns the highest HeapAlloc seen meanwhile, failing t past heapLimit.
func heapPeak(t *testing.T, f func()) uint64 {
	t.Helper()
	_, peak := memtest.HeapPeak(f)
	if peak > heapLimit {
		t.Errorf("heap reached %d MiB, over %d MiB", peak>>20, heapLimit>>20)
	}
	return peak
}

// TestRegoMessages shows deny and warn give back at most regoMaxMessages messages of at most
// regoMaxMessageBytes each, and say how many more there were.
func TestRegoMessages(t *testing.T) {
	long := strings.Repeat("é", regoMaxMessageBytes) // two bytes a rune: the cut keeps runes whole
	tests := []struct {
		name, rego string
		deny       []string
	}{
		{"many", `deny contains sprintf("%05d", [i]) if { some i in numbers.range(1, 100) }`,
			[]string{"00001", "00002", "00003", "00004", "00005", "00006", "00007", "00008", "00009", "00010",
				"00011", "00012", "00013", "00014", "00015", "00016", "00017", "00018", "00019", "00020",
				"(and 80 more deny messages; at most 20 are shown)"}},
		{"long", `deny contains concat("", ["` + long + `"])`, []string{long[:regoMaxMessageBytes] + "… (cut at 2048 bytes)"}},
		{"large value", chainN(5, `"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`,
			"twice(X)", `deny contains aN`), []string{"(a array message over 2048 bytes)"}},
		{"JSON value", `deny contains {"image": input.image.repository}`, []string{`{"image":"team/a"}`}},
	}
	input := ast.MustParseTerm(`{"image": {"repository": "team/a"}}`).Value
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := compileRules("package portcullis\n" + strings.TrimPrefix(tt.rego, "package portcullis\n"))
			if err != nil {
				t.Fatal(err)
			}
			deny, _, err := r.eval(context.Background(), input)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.deny, deny); diff != "" {
				t.Errorf("deny (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRegoAllowlist keeps the allowlist honest: every name is a builtin of this OPA, every
// bounded builtin is allowed, and the bounded copies give what OPA's own builtins give.
func TestRegoAllowlist(t *testing.T) {
	caps := map[string]bool{}
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		caps[b.Name] = true
	}
	allowed := map[string]bool{}
	for _, name := range regoBuiltins {
		if !caps[name] {
			t.Errorf("allowed builtin %s is not a builtin of this OPA", name)
		}
		allowed[name] = true
	}
	for name := range regoBounded {
		if !allowed[name] {
			t.Errorf("bounded builtin %s is not allowed", name)
		}
	}
	if got := len(env().capabilities.Builtins); got != len(regoBuiltins) {
		t.Errorf("%d builtins in the capabilities, want %d", got, len(regoBuiltins))
	}
	// An SBOM and provenance policy using the bounded builtins, whose every message is checked.
	src := `package portcullis
import rego.v1
sbom := input.attestations["https://spdx.dev/Document"][0].predicate
denied := {"left-pad", "event-stream"}
deny contains sprintf("package %s@%s is denied", [p.name, p.versionInfo]) if { some p in sbom.packages; p.name in denied }
deny contains concat(", ", sort([lower(p.name) | some p in sbom.packages; not p.licenseConcluded])) if true
deny contains replace(input.image.repository, "/", ":") if true
deny contains json.marshal(object.union({"a": 1}, {"b": [count(numbers.range(1, 10)), sum(numbers.range_step(0, 10, 5))]})) if true
deny contains strings.replace_n({"a": "A", "e": "E"}, "team/repeat") if true
deny contains regex.replace("v1.2.3", "[0-9]", "N") if true
deny contains format_int((2 * 21) + (10 - 8) / 2, 16) if true
deny contains base64.encode(upper(substring(input.image.repository, 0, 4))) if true
warn contains sprintf("%-8s|%5.2f|%v", ["ok", 3.14159, array.concat([1], array.slice([2, 3, 4], 0, 1))]) if true`
	input := ast.MustParseTerm(`{"image": {"repository": "team/a"}, "attestations": {"https://spdx.dev/Document": [{"predicate": {"packages": [
		{"name": "left-pad", "versionInfo": "1.0.0", "licenseConcluded": "MIT"}, {"name": "Zlib", "versionInfo": "1.3"}, {"name": "Acl", "versionInfo": "2"}]}}]}}`).Value
	r, err := compileRules(src)
	if err != nil {
		t.Fatal(err)
	}
	deny, warn, err := r.eval(context.Background(), input)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`2b`, `VEVBTQ==`, `acl, zlib`, `package left-pad@1.0.0 is denied`, `tEAm/rEpEAt`, `team:a`, `vN.N.N`, `{"a":1,"b":[10,15]}`}
	if diff := cmp.Diff(want, deny); diff != "" {
		t.Errorf("deny (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ok      | 3.14|[1, 2]"}, warn); diff != "" {
		t.Errorf("warn (-want +got):\n%s", diff)
	}
}
