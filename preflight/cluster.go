package preflight

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/cluster"
	"github.com/portcullis-dev/portcullis/policy"
)

// clusterAccess is the CLI's way into a cluster: its policies and its running pods.
type clusterAccess struct {
	client client.Client
	cs     corev1client.CoreV1Interface
}

func (o *Options) connect() (*clusterAccess, error) {
	cfg, err := ctrl.GetConfig()
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	}
	if err != nil {
		return nil, badf("--kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, badf("connecting to the cluster: %w", err)
	}
	cs, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, badf("connecting to the cluster: %w", err)
	}
	return &clusterAccess{client: c, cs: cs}, nil
}

// overlay reads the cluster's policies and lays files over them: a file's policy replaces the
// cluster's of the same kind, namespace and name, and adds to them otherwise.
func (k *clusterAccess) overlay(ctx context.Context, files policy.Sources, installNamespace string) (policy.Sources, error) {
	res, err := cluster.ReadResources(ctx, k.client)
	if err != nil {
		return files, badf("reading the cluster's policies: %w", err)
	}
	src := res.Sources(ctx, k.client, installNamespace, policy.RegoLimits{})
	src.ClusterPolicies = overlayBy(src.ClusterPolicies, files.ClusterPolicies, func(p v1alpha1.ClusterImagePolicy) string { return p.Name })
	src.Policies = overlayBy(src.Policies, files.Policies, func(p v1alpha1.ImagePolicy) string { return p.Namespace + "/" + p.Name })
	src.TrustRoots = overlayBy(src.TrustRoots, files.TrustRoots, func(p v1alpha1.TrustRoot) string { return p.Name })
	src.DefaultTrustRoot = files.DefaultTrustRoot
	return src, nil
}

func overlayBy[T any](base, over []T, key func(T) string) []T {
	replaced := map[string]bool{}
	for _, o := range over {
		replaced[key(o)] = true
	}
	var out []T
	for _, b := range base {
		if !replaced[key(b)] {
			out = append(out, b)
		}
	}
	return append(out, over...)
}

// checkRunning judges every running pod of the cluster, or of -n's namespace: an impact preview
// of the policies before they are applied.
func (o *Options) checkRunning(ctx context.Context, e *policy.Engine, k *clusterAccess, r *Report) ([]string, error) {
	var namespaces []string
	if o.Namespace != "" {
		namespaces = []string{o.Namespace}
	}
	pods, err := cluster.RunningPods(ctx, k.client, namespaces...)
	if err != nil {
		return nil, badf("%w", err)
	}
	creds := &cluster.Credentials{PodSecrets: k.cs, Log: logr.Discard()}
	var warnings []string
	for _, pod := range pods {
		obj := &Object{Object: pod.Object}
		sa, secrets := pod.PullCredentials()
		dec := e.Decide(ctx, pod.Request(creds.For(ctx, pod.Namespace, sa, secrets)))
		r.add(dec, obj, nil)
		warnings = append(warnings, prefixed(obj.Name(), dec.Warnings())...)
	}
	if len(pods) == 0 {
		fmt.Fprintln(o.Stderr, "portcullis verify: no running pods")
	}
	return warnings, nil
}
