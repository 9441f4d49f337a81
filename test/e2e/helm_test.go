package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/tooltest"
	"github.com/portcullis-dev/portcullis/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden helm template output")

const release, releaseNS = "portcullis", "portcullis-system"

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tooltest.Binary(t, "helm"), args...)
	cmd.Dir = tooltest.Root(t)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func render(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, "charts/portcullis", "-n", releaseNS, "--kube-version", "1.37.2"}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(out, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if m != nil {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// TestChartLintAndGolden: helm lint --strict passes, and helm template output matches the golden
// files for the default values and a customized set (go test ./test/e2e -run Golden -update
// rewrites them).
func TestChartLintAndGolden(t *testing.T) {
	if out, err := helm(t, "lint", "--strict", "charts/portcullis"); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
	for _, c := range []struct{ name, values string }{{"default", ""}, {"custom", "test/testdata/helm/custom-values.yaml"}} {
		args := []string{"template", release, "charts/portcullis", "-n", releaseNS, "--kube-version", "1.37.2"}
		if c.values != "" {
			args = append(args, "-f", c.values)
		}
		got, err := helm(t, args...)
		if err != nil {
			t.Fatalf("helm template (%s): %v\n%s", c.name, err, got)
		}
		golden := filepath.Join(tooltest.Root(t), "test/testdata/helm", c.name+".golden.yaml")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("helm template (%s) differs from %s (-want +got); if intended, run go test ./test/e2e -run Golden -update:\n%s", c.name, golden, diff)
		}
	}
}

// TestChartSchema: values.schema.json refuses wrong values at install time.
func TestChartSchema(t *testing.T) {
	for _, set := range []string{"noMatch=maybe", "replicaCount=0", "webhook.timeoutSeconds=60", "webhook.failurePolicy=Maybe",
		"certificates.mode=vault", "surprise=1", "image.pullPolicy=Sometimes", "logLevel=loud", "webhook.port=80",
		"registry.insecureRegistries[0]=http://x", "webhook.excludeNamespaces[0]=Not_A_Name", "audit.interval=soon", "audit.registryRate=0",
		"metrics.secure=maybe", "metrics.certSecret=Not_A_Name", "webhook.clientCA.configMap=Not_A_Name", "webhook.clientCA=on", "metrics.serviceMonitor.tlsConfig=skip"} {
		out, err := helm(t, "template", release, "charts/portcullis", "-n", releaseNS, "--kube-version", "1.37.2", "--set", set)
		if err == nil || !strings.Contains(out, "values don't meet the specifications of the schema") {
			t.Errorf("--set %s: accepted (%v)\n%s", set, err, out)
		}
	}
}

// TestChartContents: the rendered chart runs restricted, least-privileged, labelled, and
// registers exactly the rules and namespace exclusions the out-of-cluster webhook registers.
func TestChartContents(t *testing.T) {
	objs := render(t)
	kinds := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		kinds[o.GetKind()] = o
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"} {
			if o.GetLabels()[l] == "" {
				t.Errorf("%s %s has no %s label", o.GetKind(), o.GetName(), l)
			}
		}
	}
	for _, k := range []string{"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"PodDisruptionBudget", "Secret", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		if kinds[k] == nil {
			t.Errorf("the chart renders no %s", k)
		}
	}
	var dep appsv1.Deployment
	convert(t, kinds["Deployment"], &dep)
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	sc := ctr.SecurityContext
	if *dep.Spec.Replicas != 2 || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" ||
		*sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
		ctr.ReadinessProbe == nil || ctr.LivenessProbe == nil || ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Limits.Memory().IsZero() ||
		pod.Affinity == nil || len(pod.TopologySpreadConstraints) == 0 {
		t.Errorf("the Deployment is not restricted, probed, bounded and spread: %+v", pod)
	}
	for _, o := range objs {
		k := o.GetKind()
		if k != "ClusterRole" && k != "Role" {
			continue
		}
		var r rbacv1.ClusterRole
		convert(t, o, &r)
		for _, rule := range r.Rules {
			for _, field := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups, rule.NonResourceURLs} {
				for _, v := range field {
					if strings.Contains(v, "*") {
						t.Errorf("%s %s grants a wildcard: %+v", k, o.GetName(), rule)
					}
				}
			}
		}
	}
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	convert(t, kinds["MutatingWebhookConfiguration"], &mwc)
	convert(t, kinds["ValidatingWebhookConfiguration"], &vwc)
	for _, wh := range []struct {
		name     string
		rules    []admissionregistrationv1.RuleWithOperations
		selector any
		side     *admissionregistrationv1.SideEffectClass
		fail     *admissionregistrationv1.FailurePolicyType
		timeout  *int32
	}{
		{"mutating", mwc.Webhooks[0].Rules, mwc.Webhooks[0].NamespaceSelector, mwc.Webhooks[0].SideEffects, mwc.Webhooks[0].FailurePolicy, mwc.Webhooks[0].TimeoutSeconds},
		{"validating", vwc.Webhooks[0].Rules, vwc.Webhooks[0].NamespaceSelector, vwc.Webhooks[0].SideEffects, vwc.Webhooks[0].FailurePolicy, vwc.Webhooks[0].TimeoutSeconds},
	} {
		if diff := cmp.Diff(webhook.Rules(), wh.rules); diff != "" {
			t.Errorf("%s webhook rules differ from the out-of-cluster registration (-want +got):\n%s", wh.name, diff)
		}
		if diff := cmp.Diff(any(webhook.NamespaceSelector(releaseNS)), wh.selector); diff != "" {
			t.Errorf("%s webhook namespaceSelector differs (-want +got):\n%s", wh.name, diff)
		}
		if *wh.side != admissionregistrationv1.SideEffectClassNone || *wh.fail != admissionregistrationv1.Fail || *wh.timeout != 10 {
			t.Errorf("%s webhook: sideEffects %s, failurePolicy %s, timeoutSeconds %d", wh.name, *wh.side, *wh.fail, *wh.timeout)
		}
	}
	args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--no-match=warn", "--audit-interval=10m", "--leader-elect=true"} {
		if !strings.Contains(args, want) {
			t.Errorf("the webhook's arguments lack %s: %s", want, args)
		}
	}
	// The PolicyReport CRDs come by default, and not where another tool installed them.
	crds := func(objs []*unstructured.Unstructured) (names []string) {
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" {
				names = append(names, o.GetName())
			}
		}
		return names
	}
	if got := strings.Join(crds(objs), ","); got != "clusterpolicyreports.wgpolicyk8s.io,policyreports.wgpolicyk8s.io" {
		t.Errorf("report CRDs rendered: %s", got)
	}
	if got := crds(render(t, "--set", "reports.installCRDs=false")); len(got) != 0 {
		t.Errorf("reports.installCRDs=false still renders %v", got)
	}
}

func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	b, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

// TestHelmInstall installs the chart with the real helm into a real API server, finds every
// object it renders, and uninstalls it: the webhook configurations go, so a removed Portcullis
// never blocks the cluster.
func TestHelmInstall(t *testing.T) {
	cfg, kubeconfig := envtesting.BareAPIServer(t)
	out, err := helm(t, "install", release, "charts/portcullis", "-n", releaseNS, "--create-namespace", "--kubeconfig", kubeconfig, "--timeout", "2m")
	if err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Next:") {
		t.Errorf("helm install printed no NOTES:\n%s", out)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exists := func(o *unstructured.Unstructured) bool {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		return c.Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}, got) == nil
	}
	for _, o := range render(t) {
		if !exists(o) {
			t.Errorf("helm install did not create %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		}
	}
	for _, crd := range []string{"clusterimagepolicies.portcullis.dev", "imagepolicies.portcullis.dev", "trustroots.portcullis.dev"} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("apiextensions.k8s.io/v1")
		u.SetKind("CustomResourceDefinition")
		u.SetName(crd)
		if !exists(u) {
			t.Errorf("helm install did not create the CRD %s", crd)
		}
	}
	if out, err := helm(t, "uninstall", release, "-n", releaseNS, "--kubeconfig", kubeconfig, "--wait", "--timeout", "2m"); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("admissionregistration.k8s.io/v1")
		u.SetKind(kind)
		u.SetName(release)
		for exists(u) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if exists(u) {
			t.Errorf("helm uninstall left the %s", kind)
		}
	}
}
