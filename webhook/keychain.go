package webhook

import (
	"context"
	"sync"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"k8s.io/client-go/kubernetes"
)

// lazyKeychain reads a pod's pull secrets and service account only when a registry asks for
// credentials, so an admission answered from the cache costs no API call.
type lazyKeychain struct {
	once  sync.Once
	build func() authn.Keychain
	kc    authn.Keychain
}

func (l *lazyKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	l.once.Do(func() { l.kc = l.build() })
	return l.kc.Resolve(r)
}

// podKeychain returns the credentials the kubelet would use for a pod in namespace: its image
// pull secrets and its service account's. If they cannot be read, pulls are anonymous, and a
// private registry then refuses with a reason the deny message carries.
func podKeychain(ctx context.Context, cs kubernetes.Interface, log logr.Logger, namespace, serviceAccount string, pullSecrets []string) authn.Keychain {
	if cs == nil {
		return authn.NewMultiKeychain()
	}
	return &lazyKeychain{build: func() authn.Keychain {
		kc, err := kauth.New(ctx, cs, kauth.Options{Namespace: namespace, ServiceAccountName: serviceAccount, ImagePullSecrets: pullSecrets})
		if err != nil {
			log.Error(err, "reading pull secrets; pulling anonymously", "namespace", namespace, "serviceAccount", serviceAccount)
			return authn.NewMultiKeychain()
		}
		return kc
	}}
}
