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

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	reports "github.com/portcullis-dev/portcullis/api/reports/v1alpha2"
	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestAuditHangingRegistry: a scan goes on past a black-holed registry. Its images' rows say
// error and name the per-image deadline; every image of a registry that answers passes.
func TestAuditHangingRegistry(t *testing.T) {
	var hang atomic.Bool
	var held atomic.Int64
	good := sigtest.NewRegistry(t, true)
	blackhole := sigtest.NewRegistry(t, true, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hang.Load() && strings.HasPrefix(r.UserAgent(), "portcullis") {
				held.Add(1)
				<-r.Context().Done() // as a dropped route: no answer until the caller gives up
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	key := sigtest.NewKey(t)
	c := envtesting.Start(t, webhook.Options{}, app.Audit{Interval: time.Hour, Rate: 1000, Parallelism: 2, ImageTimeout: 2 * time.Second})
	ctx := context.Background()
	ns := c.Namespace(t, "mixed", nil)
	want := map[string]reports.PolicyResult{}
	// Created before any policy covers them, so admission asks no registry.
	for i := range 9 {
		reg, repo, name, result := good, "apps", fmt.Sprintf("app-%d", i), reports.ResultPass
		if i%3 == 2 {
			reg, repo, name, result = blackhole, "stuck", fmt.Sprintf("stuck-%d", i), reports.ResultError
		}
		key.SignLegacy(t, reg.PushRandom(t, fmt.Sprintf("%s/img%d:1", repo, i)))
		if err := c.Client.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: fmt.Sprintf("%s/%s/img%d:1", reg.Host, repo, i)}}}}); err != nil {
			t.Fatal(err)
		}
		want[name+"/trusted"] = result
	}
	hang.Store(true)
	start := time.Now()
	if err := c.Client.Create(ctx, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "trusted"}, Spec: v1alpha1.ImagePolicySpec{
		Images: []v1alpha1.ImagePattern{{Glob: good.Host + "/apps/**"}, {Glob: blackhole.Host + "/stuck/**"}}, Mode: v1alpha1.ModeAudit,
		Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: string(key.PEM)}}}}}); err != nil {
		t.Fatal(err)
	}
	report := waitReport(t, c.Client, ns, want, nil)
	t.Logf("scan with 3 black-holed images (2s each, 2 workers) reported after %s; %d requests held; stuck-2 says %q",
		time.Since(start).Round(100*time.Millisecond), held.Load(), find(report, "stuck-2", "trusted").Description)
	for name, result := range want {
		row := find(report, strings.TrimSuffix(name, "/trusted"), "trusted")
		if result == reports.ResultError && !strings.Contains(row.Description, "per-image deadline of 2s passed (--audit-image-timeout)") {
			t.Errorf("%s: the black-holed image's row says %q; want the deadline and the flag that sets it", name, row.Description)
		}
		if result == reports.ResultPass && row.Properties["digest"] == "" {
			t.Errorf("%s: a pass row without its digest: %+v", name, row)
		}
	}
	if held.Load() == 0 {
		t.Error("no request reached the black-holed registry: the test proves nothing")
	}
}

// TestAuditFirstScanSeesPolicies: a webhook started where a policy already exists writes its
// first report from that policy, never from the empty set it holds before the first compile.
func TestAuditFirstScanSeesPolicies(t *testing.T) {
	cfg := envtesting.APIServer(t)
	scheme, err := webhook.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	key.SignLegacy(t, reg.PushRandom(t, "early/app:1"))
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "early"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "early"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: reg.Host + "/early/app:1"}}}},
		&v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "trusted"}, Spec: v1alpha1.ImagePolicySpec{
			Images: []v1alpha1.ImagePattern{{Glob: reg.Host + "/early/**"}}, Mode: v1alpha1.ModeAudit,
			Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: string(key.PEM)}}}}},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	// Every write of the report is an event, so the first one is seen even if a later scan
	// corrects it.
	events, err := c.Watch(ctx, &reports.PolicyReportList{}, client.InNamespace("early"))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Stop()

	port := envtesting.FreePort(t)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(runCtx, cfg, app.Options{Options: webhook.Options{Port: port, RegisterURL: fmt.Sprintf("https://127.0.0.1:%d", port),
			ProbeAddr: fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t)), MetricsAddr: "0", InstallNamespace: "portcullis-system",
			NoMatch: policy.NoMatchWarn, Log: testr.New(t)}, Audit: app.Audit{Interval: time.Hour}})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("webhook: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("webhook did not stop")
		}
	})

	select {
	case ev := <-events.ResultChan():
		r, ok := ev.Object.(*reports.PolicyReport)
		if ev.Type != watch.Added || !ok {
			t.Fatalf("first event %s %T, want the report added", ev.Type, ev.Object)
		}
		var got []string
		for _, row := range r.Results {
			got = append(got, fmt.Sprintf("%s/%s=%s", row.Subjects[0].Name, row.Policy, row.Result))
		}
		if strings.Join(got, ",") != "app/trusted=pass" {
			t.Errorf("the first report written says %v; want app/trusted=pass, from the policy that existed at start", got)
		}
	case err := <-done:
		t.Fatalf("webhook stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("no report written in 60s")
	}
}
