package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/portcullis-dev/portcullis/app"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/audit"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/preflight"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestAuditScaleTriggersAndPreview: with an hour between scans, a new policy and a changed one
// each get a scan at once; 500 pods sharing 20 images cost about 20 verifications; a report
// over its row cap says so; and the impact preview names exactly the pods a new policy would
// deny.
func TestAuditScaleTriggersAndPreview(t *testing.T) {
	var sigFetches, tagHeads atomic.Int64
	reg := sigtest.NewRegistry(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, ".sig") && r.Method == http.MethodGet:
				sigFetches.Add(1)
			case r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/1"):
				tagHeads.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	key := sigtest.NewKey(t)
	c := envtesting.Start(t, webhook.Options{}, app.Audit{Interval: time.Hour, MaxResults: 100, Rate: 1000})
	ctx := context.Background()
	ns := c.Namespace(t, "fleet", nil)
	images := make([]string, 20)
	for i := range images {
		d := reg.PushRandom(t, fmt.Sprintf("fleet/app%d:1", i))
		if i%2 == 0 {
			key.SignLegacy(t, d)
		}
		images[i] = fmt.Sprintf("%s/fleet/app%d:1", reg.Host, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 500; i += 8 {
				errs <- c.Client.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%03d", i), Namespace: ns},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: images[i%20]}}}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sigFetches.Store(0)
	tagHeads.Store(0)

	// A new policy: scanned at once, not in an hour.
	p := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "fleet"}, Spec: v1alpha1.ImagePolicySpec{
		Images: []v1alpha1.ImagePattern{{Glob: reg.Host + "/fleet/**"}}, Mode: v1alpha1.ModeAudit,
		Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: string(key.PEM)}}}}}
	if err := c.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	r := waitSummary(t, c.Client, ns, reports.PolicyReportSummary{Pass: 250, Fail: 250})
	if len(r.Results) != 100 || !strings.Contains(r.Annotations[audit.TruncatedAnnotation], "100 of 500 results shown") || r.Results[0].Result != reports.ResultFail {
		t.Errorf("the capped report has %d rows, annotation %q, first %s", len(r.Results), r.Annotations[audit.TruncatedAnnotation], r.Results[0].Result)
	}
	t.Logf("500 pods, 20 images: %d signature fetches, %d tag resolutions", sigFetches.Load(), tagHeads.Load())
	if n := sigFetches.Load(); n > 25 {
		t.Errorf("%d signature fetches for 20 images: the cache did not hold", n)
	}
	if n := tagHeads.Load(); n > 25 {
		t.Errorf("%d tag resolutions for 20 images", n)
	}

	// A changed policy: rescanned at once.
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Mode = v1alpha1.ModeWarn
	if err := c.Client.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitSummary(t, c.Client, ns, reports.PolicyReportSummary{Pass: 250, Warn: 250})

	// The impact preview of a new enforcing policy for two repositories, one of them unsigned.
	dir := t.TempDir()
	newPolicy := filepath.Join(dir, "new.yaml")
	os.WriteFile(newPolicy, []byte(`apiVersion: portcullis.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: enforce-two}
spec:
  images: [{glob: "`+reg.Host+`/fleet/app1"}, {glob: "`+reg.Host+`/fleet/app2"}]
  authorities:
  - name: release
    key:
      data: |
        `+strings.ReplaceAll(strings.TrimSpace(string(key.PEM)), "\n", "\n        ")+"\n"), 0o644)
	var out, errOut bytes.Buffer
	code := preflight.Run(ctx, preflight.Options{Kubeconfig: c.Kubeconfig, FromCluster: true, Running: true, Policies: []string{newPolicy},
		Output: "json", Stdout: &out, Stderr: &errOut})
	var rep preflight.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("preview output: %v\n%s%s", err, out.String(), errOut.String())
	}
	var denied, wantDenied []string
	for _, im := range rep.Images {
		if !im.Allowed {
			denied = append(denied, im.Object)
		}
	}
	for i := 1; i < 500; i += 20 {
		wantDenied = append(wantDenied, fmt.Sprintf("Pod/fleet/pod-%03d", i))
	}
	sort.Strings(denied)
	if code != 1 || strings.Join(denied, ",") != strings.Join(wantDenied, ",") {
		t.Fatalf("preview exit %d denies %d pods %v; want exit 1 and exactly %v", code, len(denied), denied, wantDenied)
	}
}

func waitSummary(t *testing.T, c client.Client, ns string, want reports.PolicyReportSummary) *reports.PolicyReport {
	t.Helper()
	var got reports.PolicyReportSummary
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var r reports.PolicyReport
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &r); err == nil {
			if got = r.Summary; got == want {
				return &r
			}
		}
	}
	t.Fatalf("the report summary of %s is %+v, never %+v (the interval is an hour: only a trigger scans)", ns, got, want)
	return nil
}
