package faceimg_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gocv.io/x/gocv"

	"enrolldesk/reader"
	"enrolldesk/reader/faceimg"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/vcard"
)

func shared(t testing.TB, rel ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(append([]string{filepath.Dir(file), "..", "..", "..", "shared", "testdata"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return p
}

// source is the portrait the vectors were made from (testdata/README.md): the LFW image cropped
// to 200×250 at (25, 0).
func source(t testing.TB) image.Image {
	t.Helper()
	f, err := os.Open(shared(t, "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(25, 0, 225, 250))
}

// psnr compares two images of the same size over R, G and B (dB).
func psnr(t testing.TB, a, b image.Image) float64 {
	t.Helper()
	ra, rb := a.Bounds(), b.Bounds()
	if ra.Dx() != rb.Dx() || ra.Dy() != rb.Dy() {
		t.Fatalf("sizes %v and %v", ra, rb)
	}
	var se float64
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			r1, g1, b1, _ := a.At(ra.Min.X+x, ra.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(rb.Min.X+x, rb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				se += d * d
			}
		}
	}
	mse := se / float64(3*ra.Dx()*ra.Dy())
	return 10 * math.Log10(255*255/mse)
}

func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeVectors: OpenJPEG-encoded portraits (JP2 file and raw codestream) decode to the
// source's size and pixels (a wrong channel order or a garbled decode drops PSNR far below this).
func TestDecodeVectors(t *testing.T) {
	src := source(t)
	for _, c := range []struct {
		file    string
		minPSNR float64
	}{{"face.jp2", 40}, {"face.j2k", 37}} {
		img, err := faceimg.DecodeJPEG2000(vector(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if img.Bounds().Dx() != 200 || img.Bounds().Dy() != 250 {
			t.Fatalf("%s: %v", c.file, img.Bounds())
		}
		p := psnr(t, src, img)
		t.Logf("%s: PSNR %.1f dB against the source", c.file, p)
		if p < c.minPSNR {
			t.Fatalf("%s: PSNR %.1f dB, want ≥ %.0f", c.file, p, c.minPSNR)
		}
		// Through package image, as lds.Face.Decode does.
		img2, format, err := image.Decode(bytes.NewReader(vector(t, c.file)))
		if err != nil || format != "jpeg2000" || img2.Bounds() != img.Bounds() {
			t.Fatalf("%s via image.Decode: %q %v", c.file, format, err)
		}
		// What the face step does with the chip photo bytes (biometric/face: gocv.IMDecode in
		// colour) works on JPEG 2000 as it is.
		m, err := gocv.IMDecode(vector(t, c.file), gocv.IMReadColor)
		if err != nil || m.Cols() != 200 || m.Rows() != 250 || m.Channels() != 3 {
			t.Fatalf("%s via IMDecode colour: %v", c.file, err)
		}
		m.Close()
		cfg, _, err := image.DecodeConfig(bytes.NewReader(vector(t, c.file)))
		if err != nil || cfg.Width != 200 || cfg.Height != 250 || cfg.ColorModel == nil {
			t.Fatalf("%s config: %+v %v", c.file, cfg, err)
		}
	}
}

// TestRejects: a header announcing an absurd size never reaches OpenJPEG, a JPEG is not taken
// for JPEG 2000, and truncated or corrupted codestreams give an error or an image of the
// announced size, never a crash.
func TestRejects(t *testing.T) {
	jp2 := vector(t, "face.jp2")
	huge := bytes.Clone(jp2)
	// ihdr HEIGHT and WIDTH sit at offsets 48 and 52 of this file (signature 12, ftyp 20, jp2h
	// and ihdr headers 8 + 8).
	copy(huge[48:], []byte{0, 1, 0, 0, 0, 1, 0, 0})
	if _, err := faceimg.DecodeJPEG2000(huge); err == nil {
		t.Fatal("65536×65536 header accepted")
	}
	if _, err := faceimg.DecodeJPEG2000([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}); err == nil {
		t.Fatal("JPEG accepted as JPEG 2000")
	}
	for _, cut := range []int{100, len(jp2) / 2, len(jp2) - 2} {
		img, err := faceimg.DecodeJPEG2000(jp2[:cut])
		if err == nil && (img.Bounds().Dx() != 200 || img.Bounds().Dy() != 250) {
			t.Fatalf("cut at %d: image %v", cut, img.Bounds())
		}
	}
	bad := bytes.Clone(jp2)
	for i := 200; i < len(bad); i += 97 {
		bad[i] ^= 0x5A
	}
	if img, err := faceimg.DecodeJPEG2000(bad); err == nil && img.Bounds().Dx() != 200 {
		t.Fatalf("corrupted: %v", img.Bounds())
	}
}

// TestChipServesJP2: the virtual card serves a JPEG 2000 portrait in DG2; the reader reads it with
// passive authentication passing, lds.Face.Decode decodes it (the decoder is registered by this
// package), and ToJPEG hands a JPEG of the same picture to consumers that take only JPEG.
func TestChipServesJP2(t *testing.T) {
	c := vcard.SampleCitizen()
	var err error
	if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(shared(t, "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg"), 12000); err != nil {
		t.Fatal(err)
	}
	c.FaceJP2 = vector(t, "face.jp2")
	pki, err := vcard.NewPKI(vcard.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.WriteTrustStore(dir); err != nil {
		t.Fatal(err)
	}
	ts, err := pa.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	card, err := vcard.Personalise(c, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, v, err := reader.Read(context.Background(), card, reader.MRZKey(c.AccessKey()), reader.Options{TrustStore: ts})
	if err != nil {
		t.Fatal(err)
	}
	if !v.PassiveOK() {
		t.Fatalf("passive authentication: %+v", v)
	}
	f := &data.Faces[0]
	if f.ImageDataType != lds.ImageJPEG2000 || f.Width != 200 || f.Height != 250 || f.MIME() != "image/jp2" {
		t.Fatalf("DG2 face: type %d, %d×%d", f.ImageDataType, f.Width, f.Height)
	}
	img, err := f.Decode()
	if err != nil {
		t.Fatal(err)
	}
	src := source(t)
	if p := psnr(t, src, img); p < 40 {
		t.Fatalf("chip portrait PSNR %.1f dB", p)
	}
	j, err := faceimg.ToJPEG(f)
	if err != nil {
		t.Fatal(err)
	}
	back, err := jpeg.Decode(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr(t, src, back); p < 36 {
		t.Fatalf("JPEG of the chip portrait: PSNR %.1f dB", p)
	}
	// A JPEG portrait passes through untouched.
	jf := &lds.Face{ImageDataType: lds.ImageJPEG, Image: c.FaceJPEG}
	if j, err := faceimg.ToJPEG(jf); err != nil || !bytes.Equal(j, c.FaceJPEG) {
		t.Fatalf("JPEG portrait changed: %v", err)
	}
}
