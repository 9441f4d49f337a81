package envtesting

import "k8s.io/apimachinery/pkg/runtime/schema"

var admissionGVK = schema.GroupVersionKind{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfigurationList"}
