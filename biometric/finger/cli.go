package finger

import (
	"context"
	"fmt"

	"enrolldesk/desk/cli"
)

// Commands are the fingerprint subcommands of the headless CLI.
func Commands() []cli.Command {
	return []cli.Command{
		{
			Path:    "finger eval",
			Summary: "EER, FMR100, FMR1000 and ROC points on labelled folders of FINGER_N.tif/png images",
			Run:     runEval,
		},
	}
}

func runEval(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("finger eval")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, "usage: enrolldesk finger eval DIR...") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no folder given", cli.ErrUsage)
	}
	for _, dir := range fs.Args() {
		s, err := LoadDir(dir)
		if err != nil {
			return err
		}
		r, err := Evaluate(ctx, s)
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		fmt.Fprint(env.Stdout, r.Report(dir))
	}
	return nil
}
