// Command fpgen fills the finger template cache (see internal/fpcache): fpgen -fingers 100000
// -impressions 1 generates what is missing, resumably. Stop it with Ctrl-C; it keeps what it made.
// -out writes to another file than the user cache, e.g. the committed test gallery
// (biometric/index/testdata/imgfingers.bin, see gen.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"enrolldesk/biometric/index/internal/fpcache"
)

func main() {
	fingers := flag.Int("fingers", 1000, "fingers (identities) to have in the cache")
	impressions := flag.Int("impressions", 2, "impressions per finger")
	out := flag.String("out", "", "file to fill (default: the user cache, see fpcache.DefaultPath)")
	flag.Parse()
	path := *out
	if path == "" {
		var err error
		if path, err = fpcache.DefaultPath(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	recs, err := fpcache.Ensure(ctx, path, *fingers, *impressions)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d templates (%v)\n", path, len(recs), time.Since(t0).Round(time.Second))
}
