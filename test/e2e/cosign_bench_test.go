package e2e

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/sigtest"
	"github.com/portcullis-dev/portcullis/internal/tooltest"
)

// BenchmarkVerifyAgainstCosign runs `portcullis verify --policy P --image REF` and
// `cosign verify --key K --insecure-ignore-tlog REF` on the same key-signed image in the same
// loopback registry, alternating which goes first, one pair per iteration, and reports each
// process's median CPU (user + system, from its rusage) and wall time, and their ratios. What it
// measures is mostly process start-up: a CI step that verifies a chart image by image pays it
// every time. Run it with -benchtime 10x or more; PORTCULLIS_CLI compares another build.
func BenchmarkVerifyAgainstCosign(b *testing.B) {
	bin := os.Getenv("PORTCULLIS_CLI")
	if bin == "" {
		bin = portcullis(b)
	}
	dir := b.TempDir()
	mustCosign(b, dir, "generate-key-pair", "--output-key-prefix", "release")
	host := sigtest.NewRegistry(b, true).Host
	ref := pushRandom(b, host, "app")
	mustCosign(b, dir, "sign", "--key", "release.key", "--yes", "--use-signing-config=false", "--tlog-upload=false", "--new-bundle-format=false", ref)
	pol := policyFile(b, dir, host, "")

	run := func(cmd *exec.Cmd) (cpu, wall time.Duration) {
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", cmd.Args, err, out)
		}
		wall = time.Since(start)
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), wall
	}
	ours := func() (time.Duration, time.Duration) {
		return run(exec.Command(bin, "verify", "--policy", pol, "--image", ref))
	}
	theirs := func() (time.Duration, time.Duration) {
		cmd := exec.Command(tooltest.Binary(b, "cosign"), "verify", "--key", "release.pub", "--insecure-ignore-tlog=true", ref)
		cmd.Dir, cmd.Env = dir, cosignEnv(dir)
		return run(cmd)
	}
	var pCPU, pWall, cCPU, cWall []time.Duration
	for i := 0; b.Loop(); i++ {
		first, second := ours, theirs
		if i%2 == 1 {
			first, second = theirs, ours
		}
		c1, w1 := first()
		c2, w2 := second()
		if i%2 == 1 {
			c1, w1, c2, w2 = c2, w2, c1, w1
		}
		pCPU, pWall, cCPU, cWall = append(pCPU, c1), append(pWall, w1), append(cCPU, c2), append(cWall, w2)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(median(pCPU)), "portcullis-cpu-ms")
	b.ReportMetric(ms(median(cCPU)), "cosign-cpu-ms")
	b.ReportMetric(ms(median(pCPU))/ms(median(cCPU)), "cpu-ratio")
	b.ReportMetric(ms(median(pWall)), "portcullis-wall-ms")
	b.ReportMetric(ms(median(cWall)), "cosign-wall-ms")
	b.ReportMetric(ms(median(pWall))/ms(median(cWall)), "wall-ratio")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
