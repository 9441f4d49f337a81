package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/workload"
)

// pageSize bounds each list of pods, so a scan of a large cluster never holds one huge response.
const pageSize = 500

// Pod is a running pod.
type Pod struct {
	Namespace, Name, UID string
	// Object is the pod as decoded JSON (nil if it could not be encoded: Request then says
	// its pod spec cannot be read).
	Object map[string]any
}

// RunningPods lists the pods that are running or about to (not Succeeded or Failed), in every
// namespace or only in namespaces, page by page.
func RunningPods(ctx context.Context, r client.Reader, namespaces ...string) ([]Pod, error) {
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	var out []Pod
	for _, ns := range namespaces {
		cont := ""
		for {
			var list corev1.PodList
			if err := r.List(ctx, &list, client.InNamespace(ns), client.Limit(pageSize), client.Continue(cont)); err != nil {
				return nil, fmt.Errorf("listing pods: %w", err)
			}
			for i := range list.Items {
				p := &list.Items[i]
				if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
					continue
				}
				out = append(out, toPod(p))
			}
			if cont = list.Continue; cont == "" {
				break
			}
		}
	}
	return out, nil
}

func toPod(p *corev1.Pod) Pod {
	pod := Pod{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID)}
	p.APIVersion, p.Kind = "v1", "Pod"
	if raw, err := json.Marshal(p); err == nil && json.Unmarshal(raw, &pod.Object) != nil {
		pod.Object = nil
	}
	return pod
}

// Request is what the Engine judges for the pod (operation AUDIT), with its credentials.
func (p Pod) Request(kc authn.Keychain) *policy.Request {
	req := policy.NewRequest(policy.OperationAudit, p.Namespace, p.Object, nil, policy.UserInfo{})
	req.Keychain = kc
	return req
}

// PullCredentials are the pod's service account and image pull secrets.
func (p Pod) PullCredentials() (serviceAccount string, pullSecrets []string) {
	return workload.PullCredentials(p.Object)
}
