// Package wsqcli is the WSQ part of the headless CLI: `enrolldesk wsq encode` and `enrolldesk wsq
// decode` (which also takes an ISO/IEC 19794-4 finger record, e.g. one read from a chip's DG3).
package wsqcli

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"enrolldesk/biometric/finger"
	"enrolldesk/desk/cli"
	"enrolldesk/reader/fir"
	"enrolldesk/reader/wsq"
)

// Commands are the WSQ subcommands.
func Commands() []cli.Command {
	return []cli.Command{
		{Path: "wsq encode", Summary: "compress an 8-bit grey TIFF or PNG print to WSQ (default 0.75 bit/pixel)", Run: runEncode},
		{Path: "wsq decode", Summary: "decode a WSQ file, or every view of an ISO/IEC 19794-4 finger record, to PNG", Run: runDecode},
	}
}

func runEncode(_ context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("wsq encode")
	rate := fs.Float64("rate", 0.75, "target bits per pixel")
	ppi := fs.Int("ppi", 500, "scan resolution written to the NISTCOM comment")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: enrolldesk wsq encode [-rate 0.75] [-ppi 500] IN.tif|IN.png OUT.wsq")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("%w: want an input image and an output file", cli.ErrUsage)
	}
	img, err := finger.LoadImage(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := wsq.Encode(img, &wsq.Options{BitRate: *rate, PPI: *ppi})
	if err != nil {
		return err
	}
	if err := os.WriteFile(fs.Arg(1), b, 0o644); err != nil {
		return fmt.Errorf("wsq encode: %w", err)
	}
	fmt.Fprintf(env.Stdout, "%s: %d×%d, %d bytes (%.2f bit/pixel)\n", fs.Arg(1), img.Rect.Dx(), img.Rect.Dy(), len(b),
		float64(8*len(b))/float64(img.Rect.Dx()*img.Rect.Dy()))
	return nil
}

func runDecode(_ context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("wsq decode")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: enrolldesk wsq decode IN.wsq|RECORD.fir OUT.png  (a record with n views writes OUT-1.png … OUT-n.png)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("%w: want an input file and an output PNG", cli.ErrUsage)
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("wsq decode: %w", err)
	}
	out := fs.Arg(1)
	if bytes.HasPrefix(b, []byte("FIR\x00")) {
		r, err := fir.Parse(b)
		if err != nil {
			return err
		}
		imgs, err := r.Images()
		if err != nil {
			return err
		}
		ext := filepath.Ext(out)
		for i, img := range imgs {
			name := out
			if len(imgs) > 1 {
				name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(out, ext), i+1, ext)
			}
			if err := writePNG(name, img); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: finger position %d, %d×%d, compression %d\n", name, r.Views[i].Position, img.Rect.Dx(), img.Rect.Dy(), r.Compression)
		}
		return nil
	}
	img, err := wsq.Decode(b)
	if err != nil {
		return err
	}
	if err := writePNG(out, img); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d×%d\n", out, img.Rect.Dx(), img.Rect.Dy())
	return nil
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("wsq decode: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("wsq decode: %w", err)
	}
	return nil
}
