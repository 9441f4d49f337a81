package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
)

// Resources are the policy resources of a cluster.
type Resources struct {
	ClusterPolicies v1alpha1.ClusterImagePolicyList
	Policies        v1alpha1.ImagePolicyList
	TrustRoots      v1alpha1.TrustRootList
}

// ReadResources lists every ClusterImagePolicy, ImagePolicy and TrustRoot.
func ReadResources(ctx context.Context, r client.Reader) (*Resources, error) {
	res := &Resources{}
	for _, l := range []client.ObjectList{&res.ClusterPolicies, &res.Policies, &res.TrustRoots} {
		if err := r.List(ctx, l); err != nil {
			return nil, fmt.Errorf("listing policies: %w", err)
		}
	}
	return res, nil
}

// Sources are the resources as policy.Compile takes them, reading key Secrets through secrets
// (ClusterImagePolicies' from installNamespace), their Rego bounded by limits.
func (res *Resources) Sources(ctx context.Context, secrets client.Reader, installNamespace string, limits policy.RegoLimits) policy.Sources {
	return policy.Sources{
		ClusterPolicies:  res.ClusterPolicies.Items,
		Policies:         res.Policies.Items,
		TrustRoots:       res.TrustRoots.Items,
		SecretKey:        secretKey(ctx, secrets),
		InstallNamespace: installNamespace,
		RegoLimits:       limits,
	}
}

func secretKey(ctx context.Context, r client.Reader) func(ns, name, key string) ([]byte, error) {
	return func(ns, name, key string) ([]byte, error) {
		var s corev1.Secret
		if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
			return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
		}
		v, ok := s.Data[key]
		if !ok {
			return nil, fmt.Errorf("Secret %s/%s has no key %q", ns, name, key)
		}
		return v, nil
	}
}
