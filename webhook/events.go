package webhook

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/events"

	"github.com/portcullis-dev/portcullis/policy"
)

// maxNote is the longest note an events.k8s.io Event takes.
const maxNote = 1024

// recordEvent records a Kubernetes Event on the admitted object when it is denied, or admitted
// with warnings, naming the policies and reasons. A denied CREATE has no object yet: the Event
// names it by kind, namespace and name.
func recordEvent(rec events.EventRecorder, obj map[string]any, dec *policy.Decision, operation string) {
	if rec == nil {
		return
	}
	lines, reason, kind := dec.Denials(), "ImageDenied", corev1.EventTypeWarning
	if dec.Allowed {
		lines, reason = dec.Warnings(), "ImageWarned"
	}
	if len(lines) == 0 {
		return
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetName() == "" {
		u = u.DeepCopy()
		u.SetName(strings.TrimSuffix(u.GetGenerateName(), "-"))
	}
	note := strings.Join(lines, "; ")
	if len(note) > maxNote {
		note = note[:maxNote-3] + "..."
	}
	rec.Eventf(u, nil, kind, reason, operation, "%s", note)
}
