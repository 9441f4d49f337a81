package v1alpha1_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
)

const pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"

// TestCRDValidation applies the generated CRDs to a real kube-apiserver and checks that it
// refuses malformed policies and shows mode, Ready and age as printer columns.
func TestCRDValidation(t *testing.T) {
	cfg := envtesting.APIServer(t)
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	key := v1alpha1.Authority{Name: "k", Key: &v1alpha1.KeyAuthority{Data: pem}}
	valid := func() v1alpha1.ImagePolicySpec {
		return v1alpha1.ImagePolicySpec{Images: []v1alpha1.ImagePattern{{Glob: "registry.example.com/**"}}, Authorities: []v1alpha1.Authority{key}}
	}
	three := int32(3)
	tests := []struct {
		name   string
		mutate func(*v1alpha1.ImagePolicySpec)
		want   string // "" means accepted
	}{
		{"valid", func(*v1alpha1.ImagePolicySpec) {}, ""},
		{"key and static", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0].Static = &v1alpha1.StaticAuthority{Action: v1alpha1.StaticPass}
		}, "exactly one of key, keyless or static must be set"},
		{"none of key, keyless, static", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0].Key = nil
		}, "exactly one of key, keyless or static must be set"},
		{"key and keyless", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0].Keyless = &v1alpha1.KeylessAuthority{Identities: []v1alpha1.Identity{{Issuer: "https://x", Subject: "y"}}}
		}, "exactly one of key, keyless or static must be set"},
		{"bad mode", func(s *v1alpha1.ImagePolicySpec) { s.Mode = "block" }, `Unsupported value: "block"`},
		{"no images", func(s *v1alpha1.ImagePolicySpec) { s.Images = nil }, "spec.images"},
		{"empty glob", func(s *v1alpha1.ImagePolicySpec) { s.Images = []v1alpha1.ImagePattern{{Glob: ""}} }, "spec.images[0].glob"},
		{"regexp in a glob", func(s *v1alpha1.ImagePolicySpec) { s.Images = []v1alpha1.ImagePattern{{Glob: "reg.io/(a|b)"}} }, "spec.images[0].glob"},
		{"no authorities", func(s *v1alpha1.ImagePolicySpec) { s.Authorities = nil }, "spec.authorities"},
		{"threshold over authorities", func(s *v1alpha1.ImagePolicySpec) { s.Threshold = &three }, "threshold cannot exceed the number of authorities"},
		{"key data and secretRef", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0].Key.SecretRef = &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}
		}, "exactly one of data or secretRef must be set"},
		{"bad tlog", func(s *v1alpha1.ImagePolicySpec) { s.Authorities[0].Tlog = "maybe" }, `Unsupported value: "maybe"`},
		{"github identity", func(s *v1alpha1.ImagePolicySpec) { s.Authorities[0] = keyless(gh, nil, "") }, ""},
		{"github identity and an issuer", func(s *v1alpha1.ImagePolicySpec) {
			id := gh
			id.Issuer = "https://token.actions.githubusercontent.com"
			s.Authorities[0] = keyless(id, nil, "")
		}, "github is the whole identity"},
		{"github repository without owner", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0] = keyless(v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "repo"}}, nil, "")
		}, "spec.authorities[0].keyless.identities[0].github.repository"},
		{"github workflow with a ref", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0] = keyless(v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "org/repo", Workflow: ".github/workflows/b.yml@refs/heads/main"}}, nil, "")
		}, "spec.authorities[0].keyless.identities[0].github.workflow"},
		{"no issuer without a certificate authority", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0] = keyless(v1alpha1.Identity{Subject: "build@example.com"}, nil, "")
		}, "only a certificateAuthority's identities may leave the issuer out"},
		{"certificate authority, no issuer, tlog ignored", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0] = keyless(v1alpha1.Identity{Subject: "build@example.com"}, &v1alpha1.CertificateAuthority{CertificateChain: "PEM"}, v1alpha1.TlogIgnore)
		}, ""},
		{"certificate authority requiring a log it has not", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0] = keyless(v1alpha1.Identity{Subject: "build@example.com"}, &v1alpha1.CertificateAuthority{CertificateChain: "PEM"}, "")
		}, "a keyless certificateAuthority without a trustRootRef has no transparency log to require"},
		{"bad static action", func(s *v1alpha1.ImagePolicySpec) {
			s.Authorities[0] = v1alpha1.Authority{Name: "s", Static: &v1alpha1.StaticAuthority{Action: "allow"}}
		}, `Unsupported value: "allow"`},
	}
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := valid()
			tt.mutate(&spec)
			for _, obj := range []client.Object{
				&v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "p" + string(rune('a'+i))}, Spec: spec},
				&v1alpha1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "p" + string(rune('a'+i)), Namespace: "default"}, Spec: spec},
			} {
				err := c.Create(ctx, obj)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("creating a valid %T: %v", obj, err)
					}
					continue
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("creating %T = %v; want an error containing %q", obj, err, tt.want)
				}
			}
		})
	}

	// kubectl get clusterimagepolicies asks for a Table; its columns come from the CRD.
	rc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := rest.RESTClientForConfigAndClient(tableConfig(cfg), rc)
	var table metav1.Table
	raw, err := req.Get().AbsPath("/apis/portcullis.dev/v1alpha1/clusterimagepolicies").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "Name,Mode,Ready,Age" {
		t.Fatalf("kubectl get clusterimagepolicies columns = %v, want Name,Mode,Ready,Age", cols)
	}
	accepted := 0
	for _, tt := range tests {
		if tt.want == "" {
			accepted++
		}
	}
	if len(table.Rows) != accepted || table.Rows[0].Cells[0] != "pa" || table.Rows[0].Cells[1] != "enforce" {
		t.Fatalf("table rows = %+v; want the %d valid policies, pa first with mode enforce (the default)", table.Rows, accepted)
	}
}

var gh = v1alpha1.Identity{GitHub: &v1alpha1.GitHubIdentity{Repository: "org/repo", Workflow: ".github/workflows/build.yml", Ref: "refs/heads/main",
	SignerWorkflow: "org/shared/.github/workflows/sign.yml"}}

func keyless(id v1alpha1.Identity, ca *v1alpha1.CertificateAuthority, tlog v1alpha1.TlogPolicy) v1alpha1.Authority {
	return v1alpha1.Authority{Name: "ci", Tlog: tlog, Keyless: &v1alpha1.KeylessAuthority{Identities: []v1alpha1.Identity{id}, CertificateAuthority: ca}}
}

func tableConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &schema.GroupVersion{Group: "portcullis.dev", Version: "v1alpha1"}
	c.APIPath = "/apis"
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}
