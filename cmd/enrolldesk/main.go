// Command enrolldesk is the desk's headless command line: provisioning, audit checks, card reads,
// biometric evaluations, queue and sync. The GUI binary (the repository root) runs the same
// commands when given arguments.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"enrolldesk/desk/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cli.Run(ctx, env, os.Args[1:], Commands()...))
}
