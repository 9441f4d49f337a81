package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
)

const (
	ignoreLabel = "portcullis.dev/ignore"
	guardName   = release + "-exemption-guard"
	chartSA     = "system:serviceaccount:" + releaseNS + ":" + release
	// mayExempt is who the guard's refusals name under guardValues.
	mayExempt = "only group system:masters, group cloud-admins, user alice, user " + chartSA + " may"
)

// guardValues install the guard with a namespace excluded by name, and with a group and a user
// besides the defaults, as on a cloud whose administrators are not in system:masters.
var guardValues = []string{"--set", "webhook.excludeNamespaces={team-exempt}",
	"--set", "exemptionGuard.groups={system:masters,cloud-admins}", "--set", "exemptionGuard.users={alice}"}

// action is one write to a namespace. ns is the namespace made for this action and actor.
type action struct {
	name string
	// labels are those of a namespace the admin makes first, per actor; nil makes none.
	labels map[string]string
	// exists: the namespace is there before anyone acts, so a permitted create ends in AlreadyExists.
	exists bool
	// refusal is what the guard's message says it refused.
	refusal string
	do      func(ctx context.Context, c corev1client.NamespaceInterface, ns string) error
}

// exemptions are the ways to switch Portcullis off in a namespace.
var exemptions = []action{
	{name: "patch-adds", labels: map[string]string{}, refusal: "may not be added, changed or removed",
		do: mergePatch(map[string]any{ignoreLabel: "true"})},
	{name: "update-adds", labels: map[string]string{}, refusal: "may not be added, changed or removed",
		do: relabel(ignoreLabel, "true", viaUpdate)},
	{name: "apply-adds", labels: map[string]string{}, refusal: "may not be added, changed or removed",
		do: apply(map[string]string{ignoreLabel: "true"})},
	{name: "status-adds", labels: map[string]string{}, refusal: "may not be added, changed or removed",
		do: relabel(ignoreLabel, "true", viaStatus)},
	{name: "finalize-adds", labels: map[string]string{}, refusal: "may not be added, changed or removed",
		do: relabel(ignoreLabel, "true", viaFinalize)},
	{name: "patch-changes", labels: map[string]string{ignoreLabel: "false"}, refusal: "may not be added, changed or removed",
		do: mergePatch(map[string]any{ignoreLabel: "true"})},
	{name: "patch-removes", labels: map[string]string{ignoreLabel: "true"}, refusal: "may not be added, changed or removed",
		do: mergePatch(map[string]any{ignoreLabel: nil})},
	{name: "create-labelled", refusal: "may not be created with the label portcullis.dev/ignore",
		do: create(map[string]string{ignoreLabel: "true"})},
	{name: "create-labelled-other-value", refusal: "may not be created with the label portcullis.dev/ignore",
		do: create(map[string]string{ignoreLabel: "no"})},
	// A namespace can be made once only here (no namespace controller finishes a deletion), and
	// every actor tries the same names, so these creates are dry runs, which admission judges.
	{name: "create-excluded", refusal: "may not be created: Portcullis never judges", do: createDryRun("team-exempt")},
	{name: "create-release-namespace", refusal: "may not be created: Portcullis never judges", do: createDryRun(releaseNS)},
	{name: "create-kube-system", exists: true, refusal: "may not be created: Portcullis never judges", do: createDryRun("kube-system")},
}

// ordinary are writes that leave exemptions as they are: the guard lets anyone make them.
var ordinary = []action{
	{name: "create", do: create(map[string]string{"team": "a"})},
	{name: "patch-other", labels: map[string]string{}, do: mergePatch(map[string]any{"team": "b"})},
	{name: "patch-other-exempt", labels: map[string]string{ignoreLabel: "true"}, do: mergePatch(map[string]any{"team": "b"})},
	{name: "update-exempt", labels: map[string]string{ignoreLabel: "true"}, do: relabel("team", "c", viaUpdate)},
	{name: "status-other", labels: map[string]string{ignoreLabel: "false"}, do: relabel("team", "d", viaStatus)},
}

// TestExemptionGuard is the attack on Portcullis's exemptions, on a real API server with RBAC:
// mallory may create, update and patch namespaces. Without the guard she switches Portcullis off
// by labelling a namespace portcullis.dev/ignore or creating one it skips by name. With the
// chart's ValidatingAdmissionPolicy applied she is refused each way, with a message naming who
// may, yet she still makes ordinary namespaces and labels. The admin (system:masters), the chart's
// service account, a user in exemptionGuard.users and a member of a group in exemptionGuard.groups
// are refused nothing.
func TestExemptionGuard(t *testing.T) {
	cfg, _ := envtesting.BareAPIServer(t) // envtest's own user is in system:masters
	ctx := context.Background()
	admin := clientset(t, cfg)
	grantNamespaces(t, admin)
	as := func(user string, groups ...string) corev1client.NamespaceInterface {
		c := rest.CopyConfig(cfg)
		c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
		return clientset(t, c).CoreV1().Namespaces()
	}
	mallory := as("mallory", "tenants")
	actors := []struct {
		name string
		c    corev1client.NamespaceInterface
	}{
		{"admin", admin.CoreV1().Namespaces()},
		{"sa", as(chartSA)},
		{"alice", as("alice")},
		{"bob", as("bob", "cloud-admins")},
	}

	// RBAC is cached: wait until it lets mallory write namespaces.
	eventually(t, 30*time.Second, "mallory allowed to create namespaces", func() bool {
		return createDryRun("rbac-probe")(ctx, mallory, "") == nil
	})
	t.Run("without the guard", func(t *testing.T) {
		for _, a := range exemptions {
			if err := run(ctx, t, admin, mallory, a, "before"); !permitted(a, err) {
				t.Errorf("%s: mallory could not exempt a namespace even without the guard, so the test proves nothing: %v", a.name, err)
			}
		}
	})

	applyGuard(t, cfg)
	eventually(t, 30*time.Second, "the guard enforced", func() bool {
		probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe", Labels: map[string]string{ignoreLabel: "true"}}}
		_, err := mallory.Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return refusedByGuard(err, "")
	})

	t.Run("mallory", func(t *testing.T) {
		for _, a := range exemptions {
			err := run(ctx, t, admin, mallory, a, "mallory")
			if !refusedByGuard(err, a.refusal) {
				t.Errorf("%s: not refused by the guard with %q and %q: %v", a.name, a.refusal, mayExempt, err)
			}
		}
		for _, a := range ordinary {
			if err := run(ctx, t, admin, mallory, a, "mallory"); !permitted(a, err) {
				t.Errorf("%s: refused an ordinary write: %v", a.name, err)
			}
		}
	})
	for _, actor := range actors {
		t.Run(actor.name, func(t *testing.T) {
			for _, a := range append(append([]action{}, exemptions...), ordinary...) {
				if err := run(ctx, t, admin, actor.c, a, actor.name); !permitted(a, err) {
					t.Errorf("%s: refused: %v", a.name, err)
				}
			}
		})
	}
}

// TestChartExemptionGuardValues: the guard is on by default, exemptionGuard.enabled=false
// renders none of it, and the schema refuses wrong exemptionGuard values.
func TestChartExemptionGuardValues(t *testing.T) {
	guardKinds := func(args ...string) (kinds []string) {
		for _, o := range render(t, args...) {
			if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
				kinds = append(kinds, o.GetKind()+"/"+o.GetName())
			}
		}
		return kinds
	}
	want := "ValidatingAdmissionPolicy/" + guardName + ",ValidatingAdmissionPolicyBinding/" + guardName
	if got := strings.Join(guardKinds(), ","); got != want {
		t.Errorf("default values render %q, want %q", got, want)
	}
	if got := guardKinds("--set", "exemptionGuard.enabled=false"); len(got) != 0 {
		t.Errorf("exemptionGuard.enabled=false still renders %v", got)
	}
	for _, set := range []string{"exemptionGuard.enabled=maybe", "exemptionGuard.groups=system:masters", "exemptionGuard.users[0]=",
		"exemptionGuard.surprise=1"} {
		out, err := helm(t, "template", release, "charts/portcullis", "-n", releaseNS, "--kube-version", "1.37.2", "--set", set)
		if err == nil || !strings.Contains(out, "values don't meet the specifications of the schema") {
			t.Errorf("--set %s: accepted (%v)\n%s", set, err, out)
		}
	}
}

// run makes the namespace a needs for actor, if any, then performs a as actor.
func run(ctx context.Context, t *testing.T, admin kubernetes.Interface, actor corev1client.NamespaceInterface, a action, name string) error {
	t.Helper()
	ns := a.name + "-" + name
	if a.labels != nil {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: a.labels}}
		if _, err := admin.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("the admin creating namespace %s: %v", ns, err)
		}
	}
	return a.do(ctx, actor, ns)
}

// permitted reports whether err lets a through: none, or AlreadyExists for a namespace that is.
func permitted(a action, err error) bool {
	return err == nil || a.exists && apierrors.IsAlreadyExists(err)
}

// refusedByGuard reports whether err is the guard's refusal, saying what it refused and who may.
func refusedByGuard(err error, refusal string) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+guardName+"'") &&
		strings.Contains(err.Error(), refusal) && strings.Contains(err.Error(), mayExempt)
}

func mergePatch(labels map[string]any) func(context.Context, corev1client.NamespaceInterface, string) error {
	return func(ctx context.Context, c corev1client.NamespaceInterface, ns string) error {
		b, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
		if err != nil {
			return err
		}
		_, err = c.Patch(ctx, ns, types.MergePatchType, b, metav1.PatchOptions{})
		return err
	}
}

// apply sets labels with server-side apply.
func apply(labels map[string]string) func(context.Context, corev1client.NamespaceInterface, string) error {
	return func(ctx context.Context, c corev1client.NamespaceInterface, ns string) error {
		b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns, "labels": labels}})
		if err != nil {
			return err
		}
		_, err = c.Patch(ctx, ns, types.ApplyPatchType, b, metav1.PatchOptions{FieldManager: "e2e"})
		return err
	}
}

// relabel reads the namespace, sets one label, and writes it back with write: an update of the
// namespace or of one of its subresources.
func relabel(key, value string, write func(context.Context, corev1client.NamespaceInterface, *corev1.Namespace) error) func(context.Context, corev1client.NamespaceInterface, string) error {
	return func(ctx context.Context, c corev1client.NamespaceInterface, ns string) error {
		obj, err := c.Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if obj.Labels == nil {
			obj.Labels = map[string]string{}
		}
		obj.Labels[key] = value
		return write(ctx, c, obj)
	}
}

func viaUpdate(ctx context.Context, c corev1client.NamespaceInterface, obj *corev1.Namespace) error {
	_, err := c.Update(ctx, obj, metav1.UpdateOptions{})
	return err
}

func viaStatus(ctx context.Context, c corev1client.NamespaceInterface, obj *corev1.Namespace) error {
	_, err := c.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	return err
}

func viaFinalize(ctx context.Context, c corev1client.NamespaceInterface, obj *corev1.Namespace) error {
	_, err := c.Finalize(ctx, obj, metav1.UpdateOptions{})
	return err
}

func create(labels map[string]string) func(context.Context, corev1client.NamespaceInterface, string) error {
	return func(ctx context.Context, c corev1client.NamespaceInterface, ns string) error {
		_, err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		return err
	}
}

// createDryRun creates the namespace name, whatever the action's own namespace, as a dry run.
func createDryRun(name string) func(context.Context, corev1client.NamespaceInterface, string) error {
	return func(ctx context.Context, c corev1client.NamespaceInterface, _ string) error {
		_, err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
}

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// grantNamespaces lets mallory, the chart's service account, alice and the group cloud-admins
// create and write namespaces, their status and their finalizers.
func grantNamespaces(t *testing.T, admin kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "namespace-writer"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "create", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces/status", "namespaces/finalize"}, Verbs: []string{"update", "patch"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "namespace-writer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "mallory"},
			{Kind: rbacv1.ServiceAccountKind, Namespace: releaseNS, Name: release},
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"},
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "cloud-admins"},
		},
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// applyGuard creates the guard's objects as the chart renders them with guardValues.
func applyGuard(t *testing.T, cfg *rest.Config) {
	t.Helper()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range render(t, guardValues...) {
		if o.GetAPIVersion() != "admissionregistration.k8s.io/v1" || !strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
			continue
		}
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("the chart rendered %d ValidatingAdmissionPolicy objects, want a policy and its binding", n)
	}
}

// eventually polls cond every 100ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}
