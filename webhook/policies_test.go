package webhook_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// TestStatusWriteFailure: a replica that cannot write a policy's status keeps serving and
// retries. Here RBAC refuses the status subresource (a chart upgrade with stale RBAC); in life a
// conflict with another writer does the same. Such an error once stopped the whole process.
func TestStatusWriteFailure(t *testing.T) {
	cfg := envtesting.APIServer(t)
	scheme, _ := webhook.Scheme()
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := sigtest.NewKey(t)
	pol := &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "before-start"}, Spec: policySpec("registry.example.com/**", "", keyAuthority("a", key))}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "portcullis-limited"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"clusterimagepolicies", "imagepolicies", "trustroots"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"", "events.k8s.io", "coordination.k8s.io", "admissionregistration.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"*"}},
	}}
	for _, obj := range []client.Object{pol, role, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "portcullis-limited"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "portcullis-limited"}},
	}} {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	limited := rest.CopyConfig(cfg)
	limited.Impersonate = rest.ImpersonationConfig{UserName: "portcullis-limited"}
	opts := webhook.Options{Port: envtesting.FreePort(t), CertDir: t.TempDir(), ProbeAddr: fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t)),
		MetricsAddr: "0", NoMatch: policy.NoMatchWarn, InstallNamespace: installNS}
	if _, err := webhook.SelfSignedCert(fmt.Sprintf("https://127.0.0.1:%d", opts.Port), opts.CertDir); err != nil {
		t.Fatal(err)
	}
	start := reconcileErrors(t)
	r := envtesting.RunReplica(t, limited, opts)
	eventually(t, 60*time.Second, "the replica ready and its status write refused twice", func() bool {
		return r.Ready() && reconcileErrors(t) >= start+2
	})
	if !r.Ready() {
		t.Fatal("the replica stopped serving after a refused status write")
	}

	// Once it may write the status, a retry does.
	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"clusterimagepolicies/status"}, Verbs: []string{"update"}})
	if err := admin.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the status written by a retry", func() bool {
		var got v1alpha1.ClusterImagePolicy
		return admin.Get(ctx, client.ObjectKeyFromObject(pol), &got) == nil && meta.IsStatusConditionTrue(got.Status.Conditions, "Ready")
	})
	if !r.Ready() {
		t.Fatal("the replica is not ready")
	}
}

// reconcileErrors counts the failed policy compiles of every replica in this test process.
func reconcileErrors(t *testing.T) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_errors_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "policies" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
