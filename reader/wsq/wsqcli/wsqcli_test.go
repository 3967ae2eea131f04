package wsqcli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"enrolldesk/biometric/finger"
	"enrolldesk/desk/cli"
	"enrolldesk/reader/fir"
	"enrolldesk/reader/wsq"
)

// TestEncodeDecode: encode an FVC print, decode the WSQ file and a two-view 19794-4 record holding
// it; the PNGs are the decoder's images.
func TestEncodeDecode(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", "104_4.tif")
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, args, Commands()); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	w := filepath.Join(dir, "p.wsq")
	if out := run("wsq", "encode", src, w); !strings.Contains(out, "388×374") {
		t.Fatalf("encode: %s", out)
	}
	b, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	want, err := wsq.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	run("wsq", "decode", w, filepath.Join(dir, "p.png"))
	rec, err := (&fir.Record{PixelDepth: 8, Compression: fir.WSQ, ScaleUnits: fir.PixelsPerInch, ImageResX: 500, ImageResY: 500, Views: []fir.View{
		{Position: 2, Width: 388, Height: 374, Data: b}, {Position: 7, Width: 388, Height: 374, Data: b}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r := filepath.Join(dir, "dg3.fir")
	if err := os.WriteFile(r, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run("wsq", "decode", r, filepath.Join(dir, "f.png")); !strings.Contains(out, "finger position 7") {
		t.Fatalf("decode record: %s", out)
	}
	for _, name := range []string{"p.png", "f-1.png", "f-2.png"} {
		img, err := finger.LoadImage(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(img.Pix, want.Pix) {
			t.Fatalf("%s differs from the decoder's image", name)
		}
	}
	var errb bytes.Buffer
	if code := cli.Run(context.Background(), &cli.Env{Stdout: &errb, Stderr: &errb}, []string{"wsq", "decode", src, filepath.Join(dir, "x.png")}, Commands()); code == 0 {
		t.Fatal("a TIFF decoded as WSQ")
	}
}
