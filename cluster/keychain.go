package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/authn/k8schain"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	corev1 "k8s.io/api/core/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/portcullis-dev/portcullis/internal/cache"
)

// lazyKeychain reads a pod's pull secrets and service account only when a registry asks for
// credentials, so an admission answered from the cache costs no API call.
type lazyKeychain struct {
	once   sync.Once
	build  func(context.Context) (authn.Keychain, error)
	kc     authn.Keychain
	failed atomic.Bool
}

func (l *lazyKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return l.ResolveContext(context.Background(), r)
}

// ResolveContext reads the secrets with the context of the registry request that first asks.
func (l *lazyKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	l.once.Do(func() {
		kc, err := l.build(ctx)
		if err != nil {
			kc = authn.NewMultiKeychain()
			l.failed.Store(true)
		}
		l.kc = kc
	})
	return authn.Resolve(ctx, l.kc, r)
}

// podKeychainTTL is how long the pull credentials read for a pod's namespace, service account
// and pull secrets serve other admissions of the same: a rotated secret is read again after it.
const podKeychainTTL = 10 * time.Second

// Credentials are the registry credentials of a Portcullis process.
type Credentials struct {
	// PodSecrets reads each pod's image pull secrets and service account; nil reads none.
	PodSecrets corev1client.CoreV1Interface
	// Process is the credentials of every request, after the pod's: signature pull secrets,
	// cloud keychains. Nil means none.
	Process authn.Keychain
	Log     logr.Logger

	once      sync.Once
	keychains *cache.Cache[*lazyKeychain]
}

// For returns the credentials for one pod in namespace: those the kubelet would use (its image
// pull secrets and its service account's), read only when a registry first asks, then the
// process's own. Pods of the same namespace, service account and pull secrets share what was
// read for podKeychainTTL, so every admission can tell which credentials it presents without
// an API call. If the pod's cannot be read, a private registry refuses with a reason the
// deny message carries, and the next admission reads them again.
func (c *Credentials) For(ctx context.Context, namespace, serviceAccount string, pullSecrets []string) authn.Keychain {
	chain := []authn.Keychain{}
	if c.PodSecrets != nil {
		chain = append(chain, c.podKeychain(ctx, namespace, serviceAccount, pullSecrets))
	}
	if c.Process != nil {
		chain = append(chain, c.Process)
	}
	return authn.NewMultiKeychain(chain...)
}

func (c *Credentials) podKeychain(ctx context.Context, namespace, serviceAccount string, pullSecrets []string) *lazyKeychain {
	c.once.Do(func() { c.keychains = cache.New[*lazyKeychain](10000, podKeychainTTL, 0) })
	secrets := append([]string(nil), pullSecrets...)
	sort.Strings(secrets)
	key := namespace + "\x00" + serviceAccount + "\x00" + strings.Join(secrets, "\x00")
	fresh := func() *lazyKeychain {
		return &lazyKeychain{build: func(ctx context.Context) (authn.Keychain, error) {
			kc, err := podKeychain(ctx, c.PodSecrets, namespace, serviceAccount, pullSecrets)
			if err != nil {
				c.Log.Error(err, "reading pull secrets; pulling without them", "namespace", namespace, "serviceAccount", serviceAccount)
			}
			return kc, err
		}}
	}
	kc, err := c.keychains.Get(ctx, key, func() (*lazyKeychain, bool, error) { return fresh(), false, nil })
	if err != nil || kc.failed.Load() {
		kc = fresh()
	}
	return kc
}

// podKeychain is the keychain the kubelet would use for a pod: its image pull secrets, then its
// service account's (default when unnamed), those not found skipped. It is what
// go-containerregistry's kubernetes.New does, through the core/v1 client alone: taking the
// whole clientset, as that function does, links every API group's typed client.
func podKeychain(ctx context.Context, core corev1client.CoreV1Interface, namespace, serviceAccount string, pullSecrets []string) (authn.Keychain, error) {
	if serviceAccount == "" {
		serviceAccount = "default"
	}
	names := append([]string(nil), pullSecrets...)
	sa, err := core.ServiceAccounts(namespace).Get(ctx, serviceAccount, metav1.GetOptions{})
	switch {
	case err == nil:
		for _, ref := range sa.ImagePullSecrets {
			names = append(names, ref.Name)
		}
	case !k8serrors.IsNotFound(err):
		return nil, err
	}
	var secrets []corev1.Secret
	for _, n := range names {
		sec, err := core.Secrets(namespace).Get(ctx, n, metav1.GetOptions{})
		if k8serrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		secrets = append(secrets, *sec)
	}
	return kauth.NewFromPullSecrets(ctx, secrets)
}

// ProcessKeychain is the credentials of every request: the named docker-config Secrets of
// namespace, read when a registry first asks (and again after a refresh), then the cloud
// keychains when asked for.
func ProcessKeychain(ctx context.Context, cs corev1client.CoreV1Interface, namespace string, secrets []string, cloud bool, log logr.Logger) (authn.Keychain, error) {
	var chain []authn.Keychain
	if len(secrets) > 0 {
		chain = append(chain, &secretKeychain{cs: cs, namespace: namespace, names: secrets, log: log})
	}
	if cloud {
		kc, err := k8schain.NewNoClient(ctx)
		if err != nil {
			return nil, fmt.Errorf("setting up the cloud keychains: %w", err)
		}
		chain = append(chain, kc)
	}
	return authn.NewMultiKeychain(chain...), nil
}

// secretKeychain reads docker-config Secrets when first asked, and again every refresh.
type secretKeychain struct {
	cs        corev1client.CoreV1Interface
	namespace string
	names     []string
	log       logr.Logger

	mu     sync.Mutex
	kc     authn.Keychain
	readAt time.Time
	ttl    time.Duration
}

// The Secrets are read again after secretRefresh, or after secretRetry when one could not be.
const (
	secretRefresh = 5 * time.Minute
	secretRetry   = 10 * time.Second
)

func (s *secretKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	s.mu.Lock()
	if s.kc == nil || time.Since(s.readAt) > s.ttl {
		s.kc, s.ttl = s.read()
		s.readAt = time.Now()
	}
	kc := s.kc
	s.mu.Unlock()
	return kc.Resolve(r)
}

// read returns the keychain of the Secrets and how long to keep it.
func (s *secretKeychain) read() (authn.Keychain, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ttl := secretRefresh
	var secrets []corev1.Secret
	for _, n := range s.names {
		sec, err := s.cs.Secrets(s.namespace).Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			s.log.Error(err, "reading a signature pull secret", "namespace", s.namespace, "name", n)
			ttl = secretRetry
			continue
		}
		secrets = append(secrets, *sec)
	}
	kc, err := kauth.NewFromPullSecrets(ctx, secrets)
	if err != nil {
		s.log.Error(err, "reading signature pull secrets")
		return authn.NewMultiKeychain(), secretRetry
	}
	return kc, ttl
}
