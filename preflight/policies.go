package preflight

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/policy"
)

// readPolicies reads ClusterImagePolicy, ImagePolicy and TrustRoot documents. An ImagePolicy
// without a namespace belongs to namespace. Any other kind, or a field the API does not have,
// is bad input.
func readPolicies(paths []string, namespace string) (policy.Sources, error) {
	var src policy.Sources
	if len(paths) == 0 {
		return src, nil
	}
	files, err := readFiles(paths, nil)
	if err != nil {
		return src, err
	}
	for _, f := range files {
		for _, o := range f.Objects {
			if err := addPolicy(&src, o, namespace); err != nil {
				return src, fmt.Errorf("%s:%d: %w", f.Path, o.Line, err)
			}
		}
	}
	return src, nil
}

func addPolicy(src *policy.Sources, o *Object, namespace string) error {
	if av, _ := o.Object["apiVersion"].(string); av != v1alpha1.GroupVersion.String() {
		return fmt.Errorf("%s has apiVersion %q; policies are %s", o.Kind(), av, v1alpha1.GroupVersion)
	}
	raw, err := yaml.Marshal(o.Object)
	if err != nil {
		return err
	}
	switch o.Kind() {
	case "ClusterImagePolicy":
		var p v1alpha1.ClusterImagePolicy
		if err := yaml.UnmarshalStrict(raw, &p); err != nil {
			return fmt.Errorf("ClusterImagePolicy: %w", err)
		}
		src.ClusterPolicies = append(src.ClusterPolicies, p)
	case "ImagePolicy":
		var p v1alpha1.ImagePolicy
		if err := yaml.UnmarshalStrict(raw, &p); err != nil {
			return fmt.Errorf("ImagePolicy: %w", err)
		}
		if p.Namespace == "" {
			p.Namespace = namespace
		}
		src.Policies = append(src.Policies, p)
	case "TrustRoot":
		var p v1alpha1.TrustRoot
		if err := yaml.UnmarshalStrict(raw, &p); err != nil {
			return fmt.Errorf("TrustRoot: %w", err)
		}
		src.TrustRoots = append(src.TrustRoots, p)
	default:
		return fmt.Errorf("kind %s is not ClusterImagePolicy, ImagePolicy or TrustRoot", o.Kind())
	}
	return nil
}
