// Package cli is the headless command line of the desk (`enrolldesk <command> ...`). Each feature
// package offers its commands as []Command; cmd/enrolldesk and the GUI binary wire them together.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Command is one subcommand. Path is its words, e.g. "audit verify" or "card read".
type Command struct {
	Path    string
	Summary string
	// Run gets the arguments after the command's words. Flags are parsed by the command itself
	// (NewFlagSet gives one that prints usage to Env.Stderr).
	Run func(ctx context.Context, env *Env, args []string) error
}

// Env is what a command may use instead of globals, so commands are testable in-process.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
}

// ErrUsage marks an error caused by how the command was called; Run exits 2 for it.
var ErrUsage = errors.New("usage")

// NewFlagSet returns a flag set that reports errors instead of exiting and prints usage to stderr.
func (e *Env) NewFlagSet(path string) *flag.FlagSet {
	fs := flag.NewFlagSet("enrolldesk "+path, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	return fs
}

// Run finds the command whose words are the longest prefix of args and runs it. It returns the
// process exit code: 0 ok, 1 failure, 2 usage.
func Run(ctx context.Context, env *Env, args []string, commands ...[]Command) int {
	var all []Command
	for _, cs := range commands {
		all = append(all, cs...)
	}
	var best *Command
	bestLen := 0
	for i := range all {
		words := strings.Fields(all[i].Path)
		if len(words) <= len(args) && len(words) > bestLen && equalWords(words, args[:len(words)]) {
			best, bestLen = &all[i], len(words)
		}
	}
	if best == nil {
		usage(env.Stderr, all)
		return 2
	}
	err := best.Run(ctx, env, args[bestLen:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(env.Stderr, "enrolldesk %s: %v\n", best.Path, err)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "enrolldesk %s: %v\n", best.Path, err)
		return 1
	}
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func usage(w io.Writer, all []Command) {
	sort.Slice(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	fmt.Fprintln(w, "usage: enrolldesk <command> [flags]\n\ncommands:")
	for _, c := range all {
		fmt.Fprintf(w, "  %-22s %s\n", c.Path, c.Summary)
	}
}
