package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/portcullis-dev/portcullis/trust"
)

// trustFlags are the flags of the built-in trust roots, shared by webhook and verify.
type trustFlags struct {
	o              trust.Options
	tufRoot, tufCA string
}

func (t *trustFlags) add(f *pflag.FlagSet, webhook bool) {
	f.BoolVar(&t.o.Offline, "offline", false, "never ask the built-in roots' TUF mirrors: use the embedded snapshots (and the cache); for air-gapped clusters and CI")
	f.StringVar(&t.o.PublicGoodMirror, "tuf-mirror", trust.PublicGoodMirror, "TUF mirror of the public-good trust root (an internal copy of Sigstore's)")
	f.StringVar(&t.tufRoot, "tuf-root", "", "initial TUF root.json for --tuf-mirror when it is not a copy of Sigstore's repository (default: the embedded one)")
	f.StringVar(&t.tufCA, "tuf-ca-file", "", "PEM file of private CAs that TUF mirrors' certificates may chain to, besides the system's")
	f.DurationVar(&t.o.Timeout, "tuf-timeout", trust.DefaultTimeout, "deadline of each request to a TUF mirror")
	f.StringVar(&t.o.CacheDir, "tuf-cache-dir", "", "directory keeping verified TUF metadata and trusted roots across runs (empty: memory only)")
	if webhook {
		f.DurationVar(&t.o.Interval, "tuf-refresh-interval", trust.DefaultInterval, "time between refreshes of each TUF-backed trust root")
	}
}

func (t *trustFlags) options() (trust.Options, error) {
	if t.tufRoot != "" {
		b, err := os.ReadFile(t.tufRoot)
		if err != nil {
			return t.o, fmt.Errorf("--tuf-root: %w", err)
		}
		t.o.PublicGoodRoot = b
	}
	if t.tufCA != "" {
		b, err := os.ReadFile(t.tufCA)
		if err != nil {
			return t.o, fmt.Errorf("--tuf-ca-file: %w", err)
		}
		t.o.CAs = b
	}
	if t.o.Interval < 0 || t.o.Timeout < 0 || t.o.Interval > 0 && t.o.Interval < time.Minute {
		return t.o, fmt.Errorf("--tuf-refresh-interval must be at least 1m and --tuf-timeout positive")
	}
	return t.o, nil
}
