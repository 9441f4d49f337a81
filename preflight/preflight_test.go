package preflight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/preflight"
)

// fixture is a registry with a signed and an unsigned image, and a policy file for its key.
type fixture struct {
	reg              *sigtest.Registry
	key              *sigtest.Key
	signed, unsigned string
	signedDigest     string
	dir, policy      string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{reg: sigtest.NewRegistry(t, false), key: sigtest.NewKey(t), dir: t.TempDir()}
	d := f.reg.PushRandom(t, "team/app:1.2")
	f.key.SignBundle(t, d)
	f.signed, f.signedDigest = f.reg.Host+"/team/app:1.2", d.DigestStr()
	f.reg.PushRandom(t, "team/unsigned:1")
	f.unsigned = f.reg.Host + "/team/unsigned:1"
	f.policy = f.write(t, "policy.yaml", `apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: team-signed}
spec:
  images: [{glob: "`+f.reg.Host+`/team/**"}]
  authorities:
    - name: release-key
      key:
        data: |
`+indent(string(f.key.PEM), "          "))
	return f
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

func (f *fixture) write(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, o preflight.Options) result {
	t.Helper()
	var out, errOut bytes.Buffer
	o.Stdin, o.Stdout, o.Stderr = strings.NewReader(stdin), &out, &errOut
	if o.Trust.PublicGoodMirror == "" {
		o.Trust.Offline = true // tests never ask Sigstore's own mirror; TestBuiltinRootOffline runs one
	}
	code := preflight.Run(context.Background(), o)
	r := result{code, out.String(), errOut.String()}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("stderr has a Go stack trace:\n%s", r.stderr)
	}
	return r
}

func report(t *testing.T, r result) preflight.Report {
	t.Helper()
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-o json output is not JSON: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return rep
}

func TestImages(t *testing.T) {
	f := newFixture(t)
	r := run(t, "", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, Output: "json"})
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	rep := report(t, r)
	if !rep.Allowed || len(rep.Images) != 1 || rep.Images[0].Digest != f.signedDigest || rep.Images[0].Policies[0].Name != "team-signed" {
		t.Fatalf("report %+v", rep)
	}
	r = run(t, "", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed, f.unsigned}})
	if r.code != 1 || !strings.Contains(r.stdout, "policy team-signed: no signature verified by key release-key (no signatures found)") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestManifestInputs reads every kind, in multi-document YAML, JSON Lists, directories and stdin,
// with init, ephemeral and volume images, and skips kinds without pod specs.
func TestManifestInputs(t *testing.T) {
	f := newFixture(t)
	podSpec := func(img string) string {
		return `{"initContainers": [{"name": "init", "image": "` + img + `"}], "containers": [{"name": "app", "image": "` + img + `"}], "ephemeralContainers": [{"name": "debug", "image": "` + img + `"}], "volumes": [{"name": "data", "image": {"reference": "` + img + `"}}, {"name": "empty", "emptyDir": {}}]}`
	}
	tmpl := func(img string) string { return `{"template": {"spec": ` + podSpec(img) + `}}` }
	var docs []string
	docs = append(docs, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": `+podSpec(f.signed)+`}`)
	for _, k := range []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"} {
		docs = append(docs, `{"apiVersion": "apps/v1", "kind": "`+k+`", "metadata": {"name": "x", "namespace": "team"}, "spec": `+tmpl(f.signed)+`}`)
	}
	docs = append(docs, `{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": `+tmpl(f.signed)+`}}}`)
	yamlDocs := "# a Helm-rendered stream\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n" + strings.Join(docs, "\n---\n")
	list := `{"apiVersion": "v1", "kind": "List", "items": [` + strings.Join(docs, ",") + `]}`
	f.write(t, "dir/a.yaml", yamlDocs)
	f.write(t, "dir/sub/b.json", list)
	f.write(t, "dir/notes.txt", "not a manifest")
	for _, tt := range []struct {
		name  string
		files []string
		stdin string
		want  int
	}{
		{"multi-document YAML", []string{f.write(t, "all.yaml", yamlDocs)}, "", 8 * 4},
		{"JSON List", []string{f.write(t, "list.json", list)}, "", 8 * 4},
		{"directory", []string{filepath.Join(f.dir, "dir")}, "", 2 * 8 * 4},
		{"stdin", []string{"-"}, yamlDocs, 8 * 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, preflight.Options{Policies: []string{f.policy}, Manifests: tt.files, Output: "json"})
			rep := report(t, r)
			if r.code != 0 || !rep.Allowed || len(rep.Images) != tt.want {
				t.Fatalf("exit %d, allowed %v, %d images; want %d\n%s", r.code, rep.Allowed, len(rep.Images), tt.want, r.stderr)
			}
			sources := map[string]bool{}
			for _, im := range rep.Images {
				sources[strings.Fields(im.Source)[0]] = true
				if im.Digest != f.signedDigest || im.Object == "" || im.Line == 0 {
					t.Fatalf("image report %+v", im)
				}
			}
			if len(sources) != 4 {
				t.Fatalf("sources %v: want container, initContainer, ephemeralContainer and volume", sources)
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	f := newFixture(t)
	m := f.write(t, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec:\n  containers:\n  - {name: app, image: "+f.unsigned+"}\n")
	r := run(t, "", preflight.Options{Policies: []string{f.policy}, Manifests: []string{m}, Output: "json"})
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	img := doc["images"].([]any)[0].(map[string]any)
	pol := img["policies"].([]any)[0].(map[string]any)
	for _, k := range []string{"image", "digest", "allowed", "policies"} {
		if _, ok := img[k]; !ok {
			t.Errorf("image entry has no %q: %v", k, img)
		}
	}
	for _, k := range []string{"name", "kind", "mode", "allowed", "reasons"} {
		if _, ok := pol[k]; !ok {
			t.Errorf("policy entry has no %q: %v", k, pol)
		}
	}
	if doc["allowed"] != false || pol["kind"] != "ClusterImagePolicy" || pol["mode"] != "enforce" || pol["allowed"] != false || r.code != 1 {
		t.Fatalf("exit %d, doc %v", r.code, doc)
	}
}

func TestSARIF(t *testing.T) {
	f := newFixture(t)
	m := f.write(t, "pods.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: good\n    image: "+f.signed+"\n  - name: bad\n    image: "+f.unsigned+"\n")
	r := run(t, "", preflight.Options{Policies: []string{f.policy}, Manifests: []string{m}, Output: "sarif"})
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool    struct{ Driver struct{ Name string } }
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil {
		t.Fatal(err)
	}
	if r.code != 1 || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 1 {
		t.Fatalf("exit %d, SARIF %+v", r.code, log)
	}
	res := log.Runs[0].Results[0]
	if res.Level != "error" || !strings.Contains(res.Message.Text, `container "bad"`) || res.Locations[0].PhysicalLocation.ArtifactLocation.URI != m || res.Locations[0].PhysicalLocation.Region.StartLine != 9 {
		t.Fatalf("result %+v", res)
	}
}

func TestPin(t *testing.T) {
	f := newFixture(t)
	pinnedAlready := f.reg.Host + "/team/app@" + f.signedDigest
	text := `# keep this comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # and this one
spec:
  template:
    spec:
      containers:
      - name: app
        image: "` + f.signed + `"
      - name: sidecar
        image: '` + f.unsigned + `'
      - name: pinned
        image: ` + pinnedAlready + `
`
	m := f.write(t, "deploy.yaml", text)
	r := run(t, "", preflight.Options{Policies: []string{f.policy}, Manifests: []string{m}, Pin: true})
	if r.code != 1 { // the unsigned sidecar is denied, and pinned anyway
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	got, _ := os.ReadFile(m)
	unsignedDigest := report(t, run(t, "", preflight.Options{Policies: []string{f.policy}, Images: []string{f.unsigned}, Output: "json"})).Images[0].Digest
	want := strings.Replace(strings.Replace(text, `"`+f.signed+`"`, `"`+f.signed+`@`+f.signedDigest+`"`, 1),
		`'`+f.unsigned+`'`, `'`+f.unsigned+`@`+unsignedDigest+`'`, 1)
	if string(got) != want {
		t.Fatalf("pinned file:\n%s\nwant:\n%s", got, want)
	}
	// Pinning is idempotent, and stdin goes to stdout with the report on stderr.
	r = run(t, string(got), preflight.Options{Policies: []string{f.policy}, Manifests: []string{"-"}, Pin: true})
	if r.stdout != string(got) || !strings.Contains(r.stderr, "DENY") {
		t.Fatalf("stdin pin: stdout\n%s\nstderr\n%s", r.stdout, r.stderr)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	pod := func(img string) string {
		return f.write(t, "pod-"+strings.NewReplacer("/", "_", ":", "_").Replace(img)+".yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: app, image: \""+img+"\"}\n")
	}
	good := pod(f.signed)
	badPolicy := func(name, body string) string { return f.write(t, name, body) }
	brokenRego := badPolicy("rego.yaml", strings.Replace(mustRead(t, f.policy), "  authorities:", "  rego: \"package portcullis\\ndeny contains msg if {\"\n  authorities:", 1))
	brokenPEM := badPolicy("pem.yaml", strings.Replace(mustRead(t, f.policy), "-----BEGIN PUBLIC KEY-----\n", "-----BEGIN PUBLIC KEY-----\n          AAAA\n", 1))
	var hung atomicFault
	slow := sigtest.NewRegistry(t, false, hung.wrap)
	slowImg := slow.Host + "/team/app:1"
	failing := sigtest.NewRegistry(t, false, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	})
	everything := badPolicy("all.yaml", strings.Replace(mustRead(t, f.policy), `glob: "`+f.reg.Host+`/team/**"`, `glob: "**"`, 1))
	tests := []struct {
		name  string
		o     preflight.Options
		stdin string
		code  int
		msg   string
	}{
		{"missing file", preflight.Options{Policies: []string{f.policy}, Manifests: []string{filepath.Join(f.dir, "nope.yaml")}}, "", 2, "reading " + filepath.Join(f.dir, "nope.yaml") + ": no such file or directory"},
		{"missing policy", preflight.Options{Policies: []string{"/nope.yaml"}, Manifests: []string{good}}, "", 2, "reading /nope.yaml"},
		{"malformed YAML", preflight.Options{Policies: []string{f.policy}, Manifests: []string{"-"}}, "kind: Pod\n  spec: [", 2, "document 1 is not valid YAML or JSON"},
		{"no kind", preflight.Options{Policies: []string{f.policy}, Manifests: []string{"-"}}, "metadata: {name: x}\n", 2, "has no kind"},
		{"only unknown kinds", preflight.Options{Policies: []string{f.policy}, Manifests: []string{"-"}}, "apiVersion: x/v1\nkind: Widget\n", 2, "no object in the input carries a pod spec (kinds seen: Widget)"},
		{"not an object", preflight.Options{Policies: []string{f.policy}, Manifests: []string{"-"}}, "- a\n- b\n", 2, "is not an object"},
		{"unknown policy field", preflight.Options{Policies: []string{badPolicy("typo.yaml", strings.Replace(mustRead(t, f.policy), "images:", "imagez:", 1))}, Manifests: []string{good}}, "", 2, `unknown field "imagez"`},
		{"not a policy kind", preflight.Options{Policies: []string{good}, Manifests: []string{good}}, "", 2, "has apiVersion \"v1\""},
		{"broken Rego denies", preflight.Options{Policies: []string{brokenRego}, Manifests: []string{good}}, "", 1, "policy does not compile"},
		{"broken PEM denies", preflight.Options{Policies: []string{brokenPEM}, Manifests: []string{good}}, "", 1, "policy does not compile"},
		{"absurd --image", preflight.Options{Policies: []string{f.policy}, Images: []string{"UPPER::case"}}, "", 2, "--image: invalid image reference"},
		{"absurd image in a manifest", preflight.Options{Policies: []string{f.policy}, Manifests: []string{pod("UPPER::case")}}, "", 1, "invalid image reference"},
		{"no such tag", preflight.Options{Policies: []string{f.policy}, Images: []string{f.reg.Host + "/team/app:nope"}}, "", 1, "no such image or tag"},
		{"registry 500", preflight.Options{Policies: []string{everything}, Images: []string{failing.Host + "/team/app:1"}}, "", 1, "unexpected status code 500"},
		{"registry refuses connections", preflight.Options{Policies: []string{everything}, Images: []string{"127.0.0.1:1/team/app:1"}}, "", 1, "connection refused"},
		{"registry hangs", preflight.Options{Policies: []string{everything}, Images: []string{slowImg}, Timeout: time.Second}, "", 1, "did not answer before the deadline"},
		{"both -f and --image", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, Manifests: []string{good}}, "", 2, "give one of manifests"},
		{"--running and --image", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, Running: true}, "", 2, "give one of manifests"},
		{"--pin without manifests", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, Pin: true}, "", 2, "--pin rewrites manifests"},
		{"bad output", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, Output: "xml"}, "", 2, `output "xml"`},
		{"bad noMatch", preflight.Options{Policies: []string{f.policy}, Images: []string{f.signed}, NoMatch: "maybe"}, "", 2, `noMatch "maybe"`},
	}
	hung.arm()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, tt.o)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, tt.msg) {
				t.Fatalf("output does not say %q\nstdout: %s\nstderr: %s", tt.msg, r.stdout, r.stderr)
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Fatalf("bad input gives %d lines on stderr, want one:\n%s", strings.Count(r.stderr, "\n"), r.stderr)
			}
		})
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUnreadablePodSpec(t *testing.T) {
	f := newFixture(t)
	r := run(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: not-a-list\n", preflight.Options{Policies: []string{f.policy}, Manifests: []string{"-"}})
	if r.code != 1 || !strings.Contains(r.stdout, "pod spec: spec.containers is not a list") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// keylessPolicy writes a ClusterImagePolicy over the fixtures that wants a public-good keyless
// signature by subject, issued through GitHub's OAuth, with the default trust root.
func (f *fixture) keylessPolicy(t testing.TB, subject string) string {
	return f.write(t, "keyless-"+strings.ReplaceAll(subject, "@", "-")+".yaml", `apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: keyless}
spec:
  images: [{glob: "`+f.reg.Host+`/fixtures/**"}]
  authorities:
  - name: redhat
    keyless:
      identities:
      - {issuer: "https://github.com/login/oauth", subject: "`+subject+`"}
`)
}

// keylessImage pushes the real public-good keyless fixture (signed by mitr@redhat.com) and
// returns its tag.
func (f *fixture) keylessImage(t testing.TB) string {
	return sigtest.PushFixture(t, f.reg, "dir-img-cosign-fulcio-rekor-valid").Context().String() + ":latest"
}
