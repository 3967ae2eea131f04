package finger

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"enrolldesk/biometric/finger/sensor"

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
			Path:    "finger capture",
			Summary: "capture both index fingers (or --fingers) from an R30x sensor or fpsim and write ISO/ANSI records",
			Run:     runCapture,
		},
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
	maxEER := fs.Float64("max-eer", 0, "fail when a set's EER exceeds this many percent (0: no target)")
	maxFMR1000 := fs.Float64("max-fmr1000", 0, "fail when a set's FNMR at FMR 0.1 % exceeds this many percent (0: no target)")
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
	var missed []string
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
		missed = append(missed, checkTargets(fmt.Sprintf("synth %dx%d", nf, ni), r, *maxEER, *maxFMR1000)...)
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
		missed = append(missed, checkTargets(filepath.Base(dir), r, *maxEER, *maxFMR1000)...)
	}
	if len(missed) > 0 {
		return fmt.Errorf("targets missed: %s", strings.Join(missed, "; "))
	}
	return nil
}

func checkTargets(name string, r *EvalResult, maxEER, maxFMR1000 float64) []string {
	var m []string
	if maxEER > 0 && 100*r.EER > maxEER {
		m = append(m, fmt.Sprintf("%s EER %.2f %% > %.2f %%", name, 100*r.EER, maxEER))
	}
	if maxFMR1000 > 0 && 100*r.FMR1000 > maxFMR1000 {
		m = append(m, fmt.Sprintf("%s FMR1000 %.2f %% > %.2f %%", name, 100*r.FMR1000, maxFMR1000))
	}
	return m
}

func runCapture(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("finger capture")
	port := fs.String("port", "", "serial device of the sensor, e.g. /dev/ttyUSB0 or the path fpsim prints")
	baud := fs.Int("baud", 115200, "link speed to negotiate (standard N×9600 rate up to 115200)")
	password := fs.Uint("password", 0, "sensor password")
	fingers := fs.String("fingers", "2,7", "finger positions (ISO/IEC 19794-2: 2 right index, 7 left index)")
	imps := fs.Int("impressions", 3, "accepted impressions per finger")
	out := fs.String("out", "", "folder for one record per finger (POSITION.fmr)")
	format := fs.String("format", "iso", "record format: iso (ISO/IEC 19794-2:2005) or ansi (ANSI/INCITS 378-2004)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port == "" {
		return fmt.Errorf("%w: --port is required", cli.ErrUsage)
	}
	var pos []Position
	for _, f := range strings.Split(*fingers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 10 {
			return fmt.Errorf("%w: bad finger position %q", cli.ErrUsage, f)
		}
		pos = append(pos, Position(n))
	}
	rf := ISO19794
	switch *format {
	case "iso":
	case "ansi":
		rf = ANSI378
	default:
		return fmt.Errorf("%w: --format iso or ansi", cli.ErrUsage)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	dev, err := sensor.Open(ctx, sensor.Config{Path: *port, Baud: *baud, Password: uint32(*password)})
	if err != nil {
		return err
	}
	defer dev.Close()
	fmt.Fprintf(env.Stdout, "sensor on %s at %d baud, %d-byte packets\n", *port, dev.Baud(), dev.PacketSize())
	res, err := CaptureFingers(ctx, dev, CaptureOptions{Fingers: pos, Impressions: *imps,
		Prompt: func(p Position, n int, why string) { fmt.Fprintf(env.Stdout, "%v, attempt %d: %s\n", p, n, why) }})
	if err != nil {
		return err
	}
	for _, fc := range res {
		fmt.Fprintf(env.Stdout, "%v: %d minutiae, quality %d, consistency %.1f, %d attempts\n", fc.Position,
			len(fc.Template.Minutiae), fc.Template.Quality, fc.Consistency, fc.Attempts)
		if *out == "" {
			continue
		}
		r, err := NewRecord(fc.Template, rf, uint8(fc.Position))
		if err != nil {
			return err
		}
		raw, err := r.Marshal()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*out, 0o700); err != nil {
			return fmt.Errorf("write records: %w", err)
		}
		if err := os.WriteFile(filepath.Join(*out, fmt.Sprintf("%d.fmr", fc.Position)), raw, 0o600); err != nil {
			return fmt.Errorf("write records: %w", err)
		}
	}
	return nil
}
