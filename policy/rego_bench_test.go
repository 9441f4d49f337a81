package policy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// largeModule is a realistic Rego module of at least size bytes over a signed SBOM and
// provenance: a denylist of package URLs, rules per ecosystem, helper functions and
// messages. seed makes each policy's module differ, as each tenant's would.
func largeModule(seed, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `package portcullis

sbom := input.attestations["https://spdx.dev/Document"][0].predicate
provenance := input.attestations["https://slsa.dev/provenance/v1"][0].predicate
builder := provenance.runDetails.builder.id

trusted_builders := {"https://github.com/actions/runner/%d", "https://cloudbuild.googleapis.com/GoogleHostedWorker"}

deny contains msg if {
	not builder in trusted_builders
	msg := sprintf("image %%s was built by %%s, which is not a trusted builder", [input.image.reference, builder])
}

purl(p) := ref.referenceLocator if {
	some ref in p.externalRefs
	ref.referenceType == "purl"
}

version_below(v, min) if semver.compare(trim_prefix(v, "v"), min) < 0

`, seed)
	ecosystems := []string{"npm", "pypi", "maven", "golang", "cargo", "gem", "nuget", "deb", "apk", "rpm"}
	for i := 0; b.Len() < size; i++ {
		eco := ecosystems[i%len(ecosystems)]
		fmt.Fprintf(&b, `denied_%[1]d := {
	"pkg:%[2]s/vendor-%[3]d/left-pad-%[1]d", "pkg:%[2]s/vendor-%[3]d/event-stream-%[1]d",
	"pkg:%[2]s/vendor-%[3]d/colors-%[1]d", "pkg:%[2]s/vendor-%[3]d/ua-parser-%[1]d",
}

deny contains msg if {
	some p in sbom.packages
	startswith(purl(p), "pkg:%[2]s/")
	purl(p) in denied_%[1]d
	msg := sprintf("package %%s (%%s) is denied by rule %[1]d", [p.name, purl(p)])
}

warn contains msg if {
	some p in sbom.packages
	regex.match("^pkg:%[2]s/vendor-%[3]d/", purl(p))
	version_below(p.versionInfo, "%[4]d.%[5]d.0")
	msg := sprintf("package %%s is older than %[4]d.%[5]d.0 (rule %[1]d)", [p.name])
}

`, i, eco, seed, 1+i%9, i%7)
	}
	return b.String()
}

// BenchmarkCompile500LargeModules compiles a policy set of 500 ImagePolicies that each carry
// 60 KiB of Rego. cold prepares every module (the first compile after a start); apply-one
// compiles the set again with one more such policy, as each policy change does, while the
// previous set is live. Each reports the heap the compiled set keeps. Both raise RegoLimits
// to hold all 500 (30 MiB of Rego); default-limits applies the 500 with DefaultRegoLimits, which
// compile the first 67 (4 MiB) and refuse the rest unparsed.
func BenchmarkCompile500LargeModules(b *testing.B) {
	seed := 0
	unlimited := RegoLimits{PerPolicy: 1 << 30, PerNamespace: 1 << 30, Total: 1 << 30}
	sources := func(n int) Sources {
		src := Sources{RegoLimits: unlimited}
		for range n {
			seed++
			src.Policies = append(src.Policies, largePolicy(seed))
		}
		return src
	}
	kept := func(b *testing.B, set *Set, compiled int) {
		n := 0
		for _, p := range set.Policies() {
			if p.Err == nil {
				n++
			} else if !strings.Contains(p.Err.Error(), "over the limit") {
				b.Fatalf("%s: %v", p.Name, p.Err)
			}
		}
		if n != compiled {
			b.Fatalf("%d policies compiled, want %d", n, compiled)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap")
		runtime.KeepAlive(set)
	}
	b.Run("cold", func(b *testing.B) {
		var set *Set
		for range b.N {
			b.StopTimer()
			set = nil
			src := sources(500) // modules no live set holds
			b.StartTimer()
			set = Compile(src)
		}
		b.StopTimer()
		kept(b, set, 500)
	})
	b.Run("default-limits", func(b *testing.B) {
		var set *Set
		fit := 0
		for range b.N {
			b.StopTimer()
			set = nil
			src := sources(500)
			src.RegoLimits = DefaultRegoLimits()
			fit = 0
			for total := int64(0); fit < len(src.Policies); fit++ { // each in its own namespace
				if total += int64(len(src.Policies[fit].Spec.Rego)); total > src.RegoLimits.Total {
					break
				}
			}
			b.StartTimer()
			set = Compile(src)
		}
		b.StopTimer()
		kept(b, set, fit)
	})
	b.Run("apply-one", func(b *testing.B) {
		src := sources(500)
		set := Compile(src)
		b.ResetTimer()
		for range b.N {
			next := src
			next.Policies = append(next.Policies[:500:500], largePolicy(seed+1))
			seed++
			set = Compile(next)
		}
		b.StopTimer()
		kept(b, set, 501)
	})
}

func largePolicy(seed int) v1alpha1.ImagePolicy {
	return v1alpha1.ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", seed), Namespace: fmt.Sprintf("team-%d", seed),
			UID: types.UID(fmt.Sprintf("uid-%d", seed)), Generation: 1},
		Spec: v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: "registry.example.com/**"}},
			Authorities: []v1alpha1.Authority{{Name: "s", Static: &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}}},
			Rego:        largeModule(seed, 60<<10)},
	}
}

// TestLargeModule keeps the benchmark's module honest: it compiles, is the size asked, and
// its rules deny and warn as written.
func TestLargeModule(t *testing.T) {
	src := largeModule(7, 60<<10)
	if len(src) < 60<<10 || len(src) > 62<<10 {
		t.Fatalf("module is %d bytes", len(src))
	}
	r, err := compileRules(src)
	if err != nil {
		t.Fatal(err)
	}
	input, err := toValue(map[string]any{
		"image": map[string]any{"reference": "registry.example.com/app:1"},
		"attestations": map[string]any{
			"https://slsa.dev/provenance/v1": []any{map[string]any{"predicate": map[string]any{"runDetails": map[string]any{"builder": map[string]any{"id": "https://example.com/laptop"}}}}},
			"https://spdx.dev/Document": []any{map[string]any{"predicate": map[string]any{"packages": []any{
				map[string]any{"name": "left-pad", "versionInfo": "v0.1.0", "externalRefs": []any{map[string]any{"referenceType": "purl", "referenceLocator": "pkg:pypi/vendor-7/left-pad-1"}}},
			}}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	deny, warn, err := r.eval(t.Context(), input)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"image registry.example.com/app:1 was built by https://example.com/laptop, which is not a trusted builder",
		"package left-pad (pkg:pypi/vendor-7/left-pad-1) is denied by rule 1"}
	if strings.Join(deny, "\n") != strings.Join(want, "\n") {
		t.Errorf("deny = %q, want %q", deny, want)
	}
	if len(warn) == 0 || !strings.Contains(warn[0], "package left-pad is older than") {
		t.Errorf("warn = %q", warn)
	}
}

// TestRegoCache shows the same source gives the same prepared module while a policy holds it,
// and that the cache lets go of a module no policy holds.
func TestRegoCache(t *testing.T) {
	src := largeModule(-1, 1<<10)
	a, err := compileRules(src)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := compileRules(src); b != a {
		t.Fatal("the same source was prepared twice while a policy held it")
	}
	key := src
	runtime.KeepAlive(a)
	a = nil
	for range 100 {
		runtime.GC()
		if compiled.lookup(key) == nil {
			return
		}
		time.Sleep(10 * time.Millisecond) // let the cleanup goroutine run
	}
	t.Fatal("the cache kept a module no policy holds")
}
