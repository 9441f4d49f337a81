package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/portcullis-dev/portcullis/app"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/go-logr/logr"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/internal/envtesting"
	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/policy"
	"github.com/portcullis-dev/portcullis/webhook"
)

// replicaEnv carries a replica's options to the child process TestReplicaProcess runs.
const replicaEnv = "PORTCULLIS_TEST_REPLICA"

type replicaSpec struct {
	Kubeconfig string
	Port       int
	Probe      string
	CertDir    string
}

// TestMain runs one webhook replica instead of the tests when TestReplicaKilled starts this test
// binary as a child process (so that it can be killed with SIGKILL).
func TestMain(m *testing.M) {
	if raw := os.Getenv(replicaEnv); raw != "" {
		if err := runReplica(raw); err != nil {
			fmt.Fprintln(os.Stderr, "replica:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runReplica(raw string) error {
	var spec replicaSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", spec.Kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	return app.Run(ctx, cfg, app.Options{Options: webhook.Options{Port: spec.Port, CertDir: spec.CertDir, ProbeAddr: spec.Probe, MetricsAddr: "0",
		NoMatch: policy.NoMatchWarn, InstallNamespace: installNS, TLSSecret: "portcullis-tls", RotateCertificates: true,
		CertDNSName: "localhost", LeaderElect: true, PodPullSecrets: true, TimeoutSeconds: 10, Log: logr.Discard()}})
}

// TestReplicaKilled kills one of two replicas with SIGKILL in the middle of admissions, behind
// the test's TCP balancer, and logs how many admissions failed, what the API server told the
// client, and how long until the survivor served alone (docs/operations.md). It asserts what
// must hold whatever the timing: nothing unsigned is admitted, and the survivor serves.
func TestReplicaKilled(t *testing.T) {
	cfg, kubeconfig := envtesting.APIServerKubeconfig(t) // skips under -short, as every test needing the control plane
	scheme, _ := webhook.Scheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	installFor(t, c)
	start := func() (*exec.Cmd, replicaSpec) {
		spec := replicaSpec{Kubeconfig: kubeconfig, Port: envtesting.FreePort(t), Probe: fmt.Sprintf("127.0.0.1:%d", envtesting.FreePort(t)), CertDir: t.TempDir()}
		raw, _ := json.Marshal(spec)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), replicaEnv+"="+string(raw))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, spec
	}
	ready := func(s replicaSpec) bool {
		resp, err := http.Get("http://" + s.Probe + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	procA, a := start()
	_, b := start()
	lb := envtesting.NewBalancer(t, fmt.Sprintf("127.0.0.1:%d", a.Port), fmt.Sprintf("127.0.0.1:%d", b.Port))
	if err := webhook.Register(ctx, c, webhook.Registration{Name: webhook.Name, URL: "https://localhost:" + lb.Addr[strings.LastIndex(lb.Addr, ":")+1:],
		InstallNamespace: installNS, TimeoutSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "both replicas ready and the CA injected", func() bool {
		var vwc webhookConfig
		return ready(a) && ready(b) && vwc.get(ctx, c) && len(vwc.caBundle) > 0
	})

	reg := sigtest.NewRegistry(t, true)
	key := sigtest.NewKey(t)
	key.SignLegacy(t, reg.PushRandom(t, "kill/app:1"))
	reg.PushRandom(t, "kill/unsigned:1")
	w := &world{Cluster: &envtesting.Cluster{Config: cfg, Client: c, Warnings: &envtesting.Warnings{}}, reg: reg, keyA: key}
	w.apply(t, &v1alpha1.ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: "kill"}, Spec: policySpec(reg.Host+"/kill/**", "", keyAuthority("a", key))})
	ns := w.Namespace(t, "kill", nil)
	if err := c.Create(ctx, pod(ns, "warm", reg.Host+"/kill/app:1")); err != nil {
		t.Fatalf("before the kill: %v", err)
	}

	// Admissions from 4 clients, signed and unsigned in turn, until well after the kill.
	var (
		n, failed     atomic.Int64
		mu            sync.Mutex
		reasons       = map[string]int{}
		lastFailure   time.Time
		killedAt      time.Time
		wrongAdmitted atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for cl := 0; cl < 4; cl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				img, signed := reg.Host+"/kill/app:1", i%2 == 0
				if !signed {
					img = reg.Host + "/kill/unsigned:1"
				}
				err := c.Create(ctx, pod(ns, fmt.Sprintf("c%d-%d", cl, i), img))
				n.Add(1)
				switch {
				case err == nil && !signed:
					wrongAdmitted.Add(1)
				case err != nil && signed, err != nil && !strings.Contains(err.Error(), "policy kill"):
					failed.Add(1)
					mu.Lock()
					msg := err.Error()
					if i := strings.Index(msg, "failed calling webhook"); i >= 0 {
						msg = msg[i:]
					}
					reasons[msg]++
					lastFailure = time.Now()
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	before := n.Load()
	killedAt = time.Now()
	if err := procA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second)
	close(stop)
	wg.Wait()

	t.Logf("%d admissions before the kill, %d in all; %d failed", before, n.Load(), failed.Load())
	for msg, k := range reasons {
		t.Logf("  %d× %s", k, msg)
	}
	if !lastFailure.IsZero() {
		t.Logf("the survivor served alone %v after the kill (last failure)", lastFailure.Sub(killedAt).Round(time.Millisecond))
	}
	if wrongAdmitted.Load() > 0 {
		t.Fatalf("%d unsigned pods were admitted around the kill", wrongAdmitted.Load())
	}
	if err := c.Create(ctx, pod(ns, "after", reg.Host+"/kill/app:1")); err != nil {
		t.Fatalf("the survivor does not serve: %v", err)
	}
	denied(t, c.Create(ctx, pod(ns, "after-unsigned", reg.Host+"/kill/unsigned:1")), "policy kill")
}
