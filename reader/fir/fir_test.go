package fir

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"enrolldesk/biometric/finger"
	"enrolldesk/reader/wsq"
)

func fvcPrint(t testing.TB) *image.Gray {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	img, err := finger.LoadImage(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", "101_1.tif"))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func record(compression, depth byte, views ...View) *Record {
	return &Record{CaptureDevice: 0x0102, AcquisitionLevel: 31, ScaleUnits: PixelsPerInch, ScanResX: 500, ScanResY: 500,
		ImageResX: 500, ImageResY: 500, PixelDepth: depth, Compression: compression, Views: views}
}

// TestRecordRoundTrip: a record with each compression is written, parsed back field for field and
// its images decoded to the original pixels (WSQ: the decoder's output of the same bytes).
func TestRecordRoundTrip(t *testing.T) {
	img := fvcPrint(t)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	wsqBytes, err := wsq.Encode(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	wsqImg, err := wsq.Decode(wsqBytes)
	if err != nil {
		t.Fatal(err)
	}
	var pngBuf, jpgBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpgBuf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	jpgImg, err := jpeg.Decode(bytes.NewReader(jpgBuf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// 4-bit, continuous bit packing, and the image it stands for.
	var packedData []byte
	four := image.NewGray(img.Rect)
	for i := 0; i < len(img.Pix); i += 2 {
		hi, lo := img.Pix[i]>>4, img.Pix[i+1]>>4
		packedData = append(packedData, hi<<4|lo)
		four.Pix[i], four.Pix[i+1] = hi*17, lo*17
	}
	cases := []struct {
		name        string
		compression byte
		depth       byte
		data        []byte
		want        []byte
	}{
		{"raw", Raw, 8, img.Pix, img.Pix},
		{"packed 4-bit", RawPacked, 4, packedData, four.Pix},
		{"WSQ", WSQ, 8, wsqBytes, wsqImg.Pix},
		{"PNG", PNG, 8, pngBuf.Bytes(), img.Pix},
		{"JPEG", JPEG, 8, jpgBuf.Bytes(), jpgImg.(*image.Gray).Pix},
	}
	for _, c := range cases {
		rec := record(c.compression, c.depth,
			View{Position: 2, ViewCount: 1, ViewNumber: 1, Quality: 60, Width: w, Height: h, Data: c.data},
			View{Position: 7, ViewCount: 1, ViewNumber: 1, Quality: 55, Impression: 1, Width: w, Height: h, Data: c.data})
		b, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.Version != "010" || got.CaptureDevice != 0x0102 || got.AcquisitionLevel != 31 || got.ScaleUnits != 1 ||
			got.ImageResX != 500 || got.PixelDepth != c.depth || got.Compression != c.compression || len(got.Views) != 2 ||
			got.Views[1].Position != 7 || got.Views[1].Impression != 1 || got.Views[1].Quality != 55 {
			t.Fatalf("%s: parsed %+v", c.name, got)
		}
		imgs, err := got.Images()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, im := range imgs {
			if im.Rect.Dx() != w || im.Rect.Dy() != h || !bytes.Equal(im.Pix, c.want) {
				t.Fatalf("%s: decoded image differs", c.name)
			}
		}
	}
}

// TestParseRejects: lengths that disagree with the data, absurd sizes and unknown codes are errors.
func TestParseRejects(t *testing.T) {
	img := fvcPrint(t)
	good, err := record(Raw, 8, View{Position: 1, Width: 388, Height: 374, Data: img.Pix}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(off int, v ...byte) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], v)
		return b
	}
	for name, b := range map[string][]byte{
		"short":             good[:20],
		"not FIR":           mutate(0, 'F', 'I', 'X'),
		"2011 edition":      mutate(4, '0', '2', '0'),
		"record too long":   mutate(13, good[13]+1),
		"record truncated":  good[:len(good)-1],
		"no views":          mutate(18, 0),
		"two views, one":    mutate(18, 2),
		"view too long":     mutate(32+3, good[32+3]+1),
		"depth 0":           mutate(28, 0),
		"zero width":        mutate(32+9, 0, 0),
		"wrong raw size":    mutate(32+11, 0, 100),
		"unknown algorithm": mutate(29, 9),
		"JPEG 2000 absent":  mutate(29, JPEG2000),
	} {
		r, err := Parse(b)
		if err == nil {
			_, err = r.Images()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// FuzzParse: no record panics the parser or the image decoders.
func FuzzParse(f *testing.F) {
	small := image.NewGray(image.Rect(0, 0, 40, 36))
	for i := range small.Pix {
		small.Pix[i] = uint8(i * 7)
	}
	w, err := wsq.Encode(small, nil)
	if err != nil {
		f.Fatal(err)
	}
	var p bytes.Buffer
	_ = png.Encode(&p, small)
	for _, c := range []struct {
		comp  byte
		depth byte
		data  []byte
	}{{Raw, 8, small.Pix}, {WSQ, 8, w}, {PNG, 8, p.Bytes()}, {RawPacked, 1, make([]byte, 40*36/8)}} {
		b, err := record(c.comp, c.depth, View{Position: 1, Width: 40, Height: 36, Data: c.data}).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		imgs, err := r.Images()
		if err != nil {
			return
		}
		for i, im := range imgs {
			if im.Rect.Dx() != r.Views[i].Width || im.Rect.Dy() != r.Views[i].Height {
				t.Fatalf("view %d: %v for %d×%d", i, im.Rect, r.Views[i].Width, r.Views[i].Height)
			}
		}
	})
}

// TestSeedCorpusCommitted: the committed corpus exists (so CI replays it).
func TestSeedCorpusCommitted(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzParse"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("testdata/fuzz/FuzzParse: %v (%d files)", err, len(ents))
	}
}
