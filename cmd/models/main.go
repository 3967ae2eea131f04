// Command models assembles, downloads and verifies the face model directory that go-face loads.
//
//	models assemble -shared ../shared/models -dir models   # workplace set, no network (make setup)
//	models download -dir models [-base URL]                # official dlib.net set (make models)
//	models verify -dir models                              # which known set is there
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"enrolldesk/biometric/face/modelset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: models assemble|download|verify [flags]")
		return 2
	}
	fs := flag.NewFlagSet("models "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "models", "model directory")
	var v modelset.Verified
	var err error
	switch args[0] {
	case "assemble":
		shared := fs.String("shared", "../shared/models", "folder with the shared model files")
		shape := fs.String("shape", modelset.DebianShapePredictor, "Debian's 68-point shape predictor")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		v, err = modelset.Assemble(*shared, *shape, *dir)
	case "download":
		base := fs.String("base", modelset.OfficialBaseURL, "base URL of the bzip2-compressed model files")
		timeout := fs.Duration("timeout", 30*time.Minute, "overall time limit")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		dctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		v, err = modelset.Download(dctx, &http.Client{}, *base, *dir, modelset.Official)
	case "verify":
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		v, err = modelset.Verify(*dir)
	default:
		fmt.Fprintf(stderr, "models: unknown command %q (assemble, download, verify)\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "models %s: %v\n", args[0], err)
		return 1
	}
	fmt.Fprintf(stdout, "models: %s holds the %q set (%d-point landmarks), model set id %s\n", v.Dir, v.Set, v.Landmarks, v.ID)
	return 0
}
