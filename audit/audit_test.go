package audit_test

import (
	"context"
	"fmt"
	"github.com/portcullis-dev/portcullis/app"
	"net/http"
	"strings"
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
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestAudit runs the webhook with a 2-second audit interval on a real API server and follows the
// adoption path: pods that predate any policy, then audit, warn and enforce policies.
func TestAudit(t *testing.T) {
	var down atomic.Bool
	reg := sigtest.NewRegistry(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() && strings.Contains(r.URL.Path, "/flaky/") {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	key := sigtest.NewKey(t)
	c := envtesting.Start(t, webhook.Options{}, app.Audit{Interval: 2 * time.Second})
	ctx := context.Background()
	img := func(repoTag string, signed bool) string {
		d := reg.PushRandom(t, repoTag)
		if signed {
			key.SignLegacy(t, d)
		}
		return reg.Host + "/" + repoTag
	}
	ns := c.Namespace(t, "team", nil)
	create := func(name, image string) {
		t.Helper()
		if err := c.Client.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}); err != nil {
			t.Fatalf("creating pod %s: %v", name, err)
		}
	}
	// Running before any policy exists (noMatch: warn admits them).
	create("signed", img("audited/app:1", true))
	create("unsigned", img("audited/tool:1", false))
	create("enforced-later", img("enforced/old:1", false))
	create("flaky", img("flaky/app:1", true))

	apply := func(name string, mode v1alpha1.Mode, glob string) *v1alpha1.ClusterImagePolicy {
		p := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.ImagePolicySpec{
			Images: []v1alpha1.ImagePattern{{Glob: reg.Host + glob}}, Mode: mode,
			Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: string(key.PEM)}}}}}
		if err := c.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	down.Store(true) // the flaky registry is down before anything has verified its image
	apply("audited", v1alpha1.ModeAudit, "/audited/**")
	apply("warned", v1alpha1.ModeWarn, "/warned/**")
	apply("enforced", v1alpha1.ModeEnforce, "/enforced/**")
	apply("flaky", v1alpha1.ModeAudit, "/flaky/**")

	want := map[string]reports.PolicyResult{"signed/audited": reports.ResultPass, "unsigned/audited": reports.ResultFail,
		"enforced-later/enforced": reports.ResultFail, "flaky/flaky": reports.ResultError}
	report := waitReport(t, c.Client, ns, want, nil)
	if row := find(report, "flaky", "flaky"); !strings.Contains(row.Description, "503") || row.Properties["digest"] != "" {
		t.Errorf("the registry outage is reported as %+v, want an error with its cause", row)
	}
	if row := find(report, "signed", "audited"); row.Properties["digest"] == "" || row.Properties["signers"] == "" || row.Source != "portcullis" || row.Timestamp.Seconds == 0 {
		t.Errorf("a pass row lacks its digest, signers, source or time: %+v", row)
	}
	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil || len(pods.Items) != 4 {
		t.Fatalf("the audit touched the pods: %d left, %v", len(pods.Items), err)
	}

	// Audit mode admits; warn mode admits with a warning; enforce denies. All are reported.
	down.Store(false)
	create("later", img("audited/later:1", false))
	c.Warnings.Take()
	create("warned", img("warned/app:1", false))
	if w := strings.Join(c.Warnings.Take(), "\n"); !strings.Contains(w, "policy warned (warn)") {
		t.Errorf("warn mode gave no warning: %q", w)
	}
	if err := c.Client.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "denied", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: img("enforced/new:1", false)}}}}); err == nil {
		t.Error("enforce mode admitted an unsigned pod")
	}
	// A deleted pod leaves the report at the next scan.
	if err := c.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "unsigned", Namespace: ns}}); err != nil {
		t.Fatal(err)
	}
	want = map[string]reports.PolicyResult{"signed/audited": reports.ResultPass, "later/audited": reports.ResultFail,
		"warned/warned": reports.ResultWarn, "enforced-later/enforced": reports.ResultFail}
	report = waitReport(t, c.Client, ns, want, []string{"unsigned/audited"})
	var cpr reports.ClusterPolicyReport
	if err := c.Client.Get(ctx, client.ObjectKey{Name: audit.ReportName}, &cpr); err != nil {
		t.Fatal(err)
	}
	if cpr.Summary != report.Summary {
		t.Errorf("ClusterPolicyReport totals %+v, the namespace's %+v", cpr.Summary, report.Summary)
	}
}

// waitReport waits until ns's PolicyReport has the wanted pod/policy results and none of the
// gone ones, and returns it.
func waitReport(t *testing.T, c client.Client, ns string, want map[string]reports.PolicyResult, gone []string) *reports.PolicyReport {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var r reports.PolicyReport
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &r); err != nil {
			last = err.Error()
			continue
		}
		got := map[string]reports.PolicyResult{}
		for _, row := range r.Results {
			got[row.Subjects[0].Name+"/"+row.Policy] = row.Result
		}
		ok := true
		for k, v := range want {
			ok = ok && got[k] == v
		}
		for _, k := range gone {
			_, present := got[k]
			ok = ok && !present
		}
		if ok {
			return &r
		}
		last = fmt.Sprint(got)
	}
	t.Fatalf("the report of %s never showed %v without %v; last: %s", ns, want, gone, last)
	return nil
}

func find(r *reports.PolicyReport, pod, pol string) reports.PolicyReportResult {
	for _, row := range r.Results {
		if row.Subjects[0].Name == pod && row.Policy == pol {
			return row
		}
	}
	return reports.PolicyReportResult{}
}
