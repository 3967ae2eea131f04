// Command evalrun runs the finger package's commands alone (`evalrun finger eval DIR`), for the bench
// script when the full desk CLI does not build.
package main

import (
	"context"
	"os"
	"os/signal"

	"enrolldesk/biometric/finger"
	"enrolldesk/desk/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cli.Run(ctx, env, os.Args[1:], finger.Commands()))
}
