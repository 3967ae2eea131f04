package finger

import (
	"context"
	"fmt"
	"image"
	"strconv"

	"enrolldesk/biometric/finger/synth"
	"enrolldesk/desk/cli"
)

// SynthSamples lists a generated evaluation set: fingers × impressions from synth.Generate.
func SynthSamples(seed uint64, fingers, impressions int) []Sample {
	var out []Sample
	for f := range fingers {
		for i := 1; i <= impressions; i++ {
			out = append(out, Sample{Finger: strconv.Itoa(f), Impression: i,
				Load: func() (*image.Gray, error) { return synth.Generate(seed, f, i), nil }})
		}
	}
	return out
}

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
	gen := fs.String("synth", "", "also evaluate a generated set FINGERSxIMPRESSIONS, e.g. 200x8")
	seed := fs.Uint64("seed", 1, "population seed of the generated set")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: enrolldesk finger eval [--synth 200x8 [--seed N]] [DIR...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 && *gen == "" {
		fs.Usage()
		return fmt.Errorf("%w: no folder given", cli.ErrUsage)
	}
	if *gen != "" {
		var nf, ni int
		if _, err := fmt.Sscanf(*gen, "%dx%d", &nf, &ni); err != nil || nf < 2 || ni < 2 || nf*ni > 100000 {
			return fmt.Errorf("%w: --synth wants FINGERSxIMPRESSIONS, e.g. 200x8", cli.ErrUsage)
		}
		r, err := Evaluate(ctx, SynthSamples(*seed, nf, ni))
		if err != nil {
			return fmt.Errorf("generated set: %w", err)
		}
		fmt.Fprint(env.Stdout, r.Report(fmt.Sprintf("synth seed %d, %dx%d", *seed, nf, ni)))
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
