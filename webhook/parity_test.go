package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/preflight"
)

// testParity judges the same pods, under the same policies, through `portcullis verify` and
// through the API server, and requires the same verdict and the same reasons.
func testParity(t *testing.T, w *world) {
	ns := w.Namespace(t, "parity", nil)
	signed, _ := w.image(t, "parity/signed:1", w.keyA)
	unsigned, _ := w.image(t, "parity/unsigned:1")
	byB, _ := w.image(t, "parity/by-b:1", w.keyB)
	warned, _ := w.image(t, "parity-warn/app:1")
	policies := []*v1alpha1.ClusterImagePolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "parity"}, Spec: policySpec(w.reg.Host+"/parity/**", "", keyAuthority("a", w.keyA))},
		{ObjectMeta: metav1.ObjectMeta{Name: "parity-warn"}, Spec: policySpec(w.reg.Host+"/parity-warn/**", v1alpha1.ModeWarn, keyAuthority("a", w.keyA))},
	}
	dir := t.TempDir()
	var docs [][]byte
	for _, p := range policies {
		w.apply(t, p.DeepCopy())
		p.APIVersion, p.Kind = v1alpha1.GroupVersion.String(), "ClusterImagePolicy"
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	policyFile := filepath.Join(dir, "policies.yaml")
	os.WriteFile(policyFile, bytes.Join(docs, []byte("---\n")), 0o644)

	for i, images := range [][]string{{signed}, {unsigned}, {byB}, {signed, unsigned}, {warned}, {signed, warned}} {
		p := pod(ns, "p"+string(rune('a'+i)), images...)
		p.APIVersion, p.Kind = "v1", "Pod"
		manifest, _ := json.Marshal(p)
		var out, errOut bytes.Buffer
		code := preflight.Run(context.Background(), preflight.Options{Policies: []string{policyFile}, Manifests: []string{"-"}, Namespace: ns,
			Output: "json", Stdin: bytes.NewReader(manifest), Stdout: &out, Stderr: &errOut})
		var rep preflight.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("CLI output: %v\n%s%s", err, out.String(), errOut.String())
		}
		w.Warnings.Take()
		err := w.Client.Create(context.Background(), p)
		if (err == nil) != rep.Allowed || (code == 0) != rep.Allowed {
			t.Fatalf("%v: webhook says %v, CLI says allowed=%v (exit %d)", images, err, rep.Allowed, code)
		}
		warnings := strings.Join(w.Warnings.Take(), "\n")
		for _, im := range rep.Images {
			for _, pr := range im.Policies {
				for _, reason := range pr.Reasons {
					if pr.Allowed && !strings.Contains(warnings, reason) && pr.Mode == string(v1alpha1.ModeWarn) {
						t.Errorf("%v: CLI warns %q, webhook warned %q", images, reason, warnings)
					}
					if !pr.Allowed && !strings.Contains(err.Error(), reason) {
						t.Errorf("%v: CLI denies with %q, webhook with %q", images, reason, err)
					}
				}
			}
		}
	}
}
