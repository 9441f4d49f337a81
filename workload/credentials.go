package workload

// PullCredentials returns the service account and image pull secrets named by obj's pod spec:
// what the kubelet would use to pull its images. The service account defaults to "default".
func PullCredentials(obj map[string]any) (serviceAccount string, pullSecrets []string) {
	kind, _ := obj["kind"].(string)
	serviceAccount = "default"
	path, ok := specPaths[kind]
	if !ok {
		return serviceAccount, nil
	}
	spec, err := walk(obj, path)
	if err != nil || spec == nil {
		return serviceAccount, nil
	}
	if sa, _ := spec["serviceAccountName"].(string); sa != "" {
		serviceAccount = sa
	}
	list, _ := spec["imagePullSecrets"].([]any)
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			if n, _ := m["name"].(string); n != "" {
				pullSecrets = append(pullSecrets, n)
			}
		}
	}
	return serviceAccount, pullSecrets
}

// SameImages reports whether two versions of an object use the same images in the same places,
// so that an update between them needs no new verdict.
func SameImages(a, b []Image) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Image != b[i].Image || a[i].Pointer() != b[i].Pointer() {
			return false
		}
	}
	return true
}
