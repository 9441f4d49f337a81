package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func TestParsePlatforms(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    []v1.Platform
		wantErr string
	}{
		{"linux/amd64,linux/arm64", []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}, ""},
		{" linux/arm64 ", []v1.Platform{{OS: "linux", Architecture: "arm64"}}, ""},
		{"darwin/arm64", nil, "want linux/<GOARCH>"},
		{"linux/arm/v7", nil, "without a variant"},
		{"linux/amd64,", nil, "want linux/<GOARCH>"},
	} {
		got, err := ParsePlatforms(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParsePlatforms(%q) = %v, %v; want an error saying %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePlatforms(%q): %v", c.in, err)
		} else if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("ParsePlatforms(%q) (-want +got):\n%s", c.in, d)
		}
	}
}

// The shared layer's digest depends on the creation time alone, so one commit builds one digest.
func TestFilesystemLayerReproducible(t *testing.T) {
	digest := func(created time.Time) v1.Hash {
		l, err := filesystemLayer(created)
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	epoch, later := time.Unix(0, 0), time.Unix(1700000000, 0)
	if a, b := digest(epoch), digest(epoch); a != b {
		t.Errorf("two layers made at one time differ: %s, %s", a, b)
	}
	if a, b := digest(epoch), digest(later); a == b {
		t.Errorf("layers made at %s and %s share digest %s: the time is not in the files", epoch, later, a)
	}
}

func TestCABundle(t *testing.T) {
	pem, n, err := caBundle()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(pem), "-----BEGIN CERTIFICATE-----"); got != n || n <= 100 {
		t.Errorf("bundle holds %d certificates and says %d; want the same, over 100", got, n)
	}
}

// A layout replaces a layout, and refuses a directory that holds anything else.
func TestWriteLayout(t *testing.T) {
	img, err := random.Index(64, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "image")
	for range 2 {
		if err := WriteLayout(dir, "v1", img); err != nil {
			t.Fatalf("writing the layout over the previous one: %v", err)
		}
	}
	other := t.TempDir()
	keep := filepath.Join(other, "notes.txt")
	os.WriteFile(keep, []byte("mine"), 0o644)
	if err := WriteLayout(other, "v1", img); err == nil || !strings.Contains(err.Error(), "holds no OCI layout") {
		t.Errorf("WriteLayout into a directory with other files: %v, want a refusal", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the refused directory lost its file: %v", err)
	}
}
