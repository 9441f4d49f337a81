// Command image builds Portcullis's OCI image (see internal/image) and writes it as an OCI
// layout, or pushes it, then prints it by digest on stdout; progress goes to stderr. `make
// image` runs it. The creation time is $SOURCE_DATE_EPOCH (seconds), or the Unix epoch.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/portcullis-dev/portcullis/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "comma-separated linux/<GOARCH> to build")
	version := flag.String("version", "dev", "what `portcullis version` prints, and the version label")
	revision := flag.String("revision", "", "the commit, for the revision label")
	dir := flag.String("layout", "bin/image", "the OCI layout to write, when -push is not given")
	push := flag.String("push", "", "push to this image reference instead of writing a layout")
	flag.Parse()
	ps, err := image.ParsePlatforms(*platforms)
	if err != nil {
		return err
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	idx, err := image.Build(ctx, image.Options{Root: root, Platforms: ps, Version: *version, Revision: *revision, Created: created,
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		return err
	}
	if *push != "" {
		d, err := image.Push(ctx, *push, idx)
		if err != nil {
			return err
		}
		fmt.Println(d)
		return nil
	}
	if err := image.WriteLayout(*dir, *version, idx); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", *dir, d)
	return nil
}

// sourceDateEpoch is the reproducible-builds convention for a build's time.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}
