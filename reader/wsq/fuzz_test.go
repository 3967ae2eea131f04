package wsq

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// synthetic is a small ridge-like test image (no person's print).
func synthetic(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 128 + 100*sinApprox(float64(x*x+y*y)/40)
			img.Pix[y*w+x] = uint8(v)
		}
	}
	return img
}

// sinApprox is a cheap periodic wave in [−1, 1].
func sinApprox(t float64) float64 {
	t -= float64(int(t/6.283185307)) * 6.283185307
	if t > 3.14159 {
		t -= 6.283185307
	}
	return t * (1.27323954 - 0.405284735*abs(t))
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// FuzzDecode: no input panics the decoder; whatever decodes has the frame's size. Seeds: small
// synthetic images encoded at several rates (testdata/fuzz/FuzzDecode holds more).
func FuzzDecode(f *testing.F) {
	for _, sz := range [][2]int{{32, 32}, {40, 33}, {64, 48}} {
		for _, rate := range []float64{0.75, 2.5} {
			b, err := Encode(synthetic(sz[0], sz[1]), &Options{BitRate: rate})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{0xFF, 0xA0, 0xFF, 0xA1})
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, cerr := DecodeConfig(b)
		img, err := Decode(b)
		if err != nil {
			return
		}
		if cerr != nil || img.Bounds().Dx() != cfg.Width || img.Bounds().Dy() != cfg.Height {
			t.Fatalf("decoded %v, config %+v %v", img.Bounds(), cfg, cerr)
		}
	})
}

// TestDecodeRejects: truncations and corruptions of a valid file give errors, never a panic or a
// silently short image.
func TestDecodeRejects(t *testing.T) {
	good, err := Encode(synthetic(64, 48), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(good)-2; n++ {
		if _, err := Decode(good[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: decoded", n, len(good))
		}
	}
	mutate := func(off int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[off] = v
		return b
	}
	// The SOF height (offset found by searching the marker).
	sof := -1
	for i := 0; i+1 < len(good); i++ {
		if good[i] == 0xFF && good[i+1] == 0xA2 {
			sof = i
			break
		}
	}
	if sof < 0 {
		t.Fatal("no SOF")
	}
	for name, b := range map[string][]byte{
		"not WSQ":         mutate(1, 0xD8),
		"zero height":     append(append(append([]byte(nil), good[:sof+6]...), 0, 0), good[sof+8:]...),
		"taller frame":    mutate(sof+7, good[sof+7]+1),
		"even filter":     mutate(findMarker(good, 0xA4)+4, 8),
		"huffman id":      mutate(findMarker(good, 0xA3)+4, 7),
		"frame too large": append(append(append([]byte(nil), good[:sof+6]...), 0xFF, 0xFF, 0xFF, 0xFF), good[sof+10:]...),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func findMarker(b []byte, m byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == m {
			return i
		}
	}
	return -1
}

// TestSeedCorpusCommitted: the committed corpus exists (so CI replays it).
func TestSeedCorpusCommitted(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzDecode"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("testdata/fuzz/FuzzDecode: %v (%d files)", err, len(ents))
	}
}

// TestLateDQT: a DQT redefined between blocks (every subband coded) neither panics nor changes how
// many coefficients the blocks hold: the table in force at the first block decides.
func TestLateDQT(t *testing.T) {
	good, err := Encode(synthetic(64, 48), nil)
	if err != nil {
		t.Fatal(err)
	}
	dqt := findMarker(good, 0xA5)
	seg := append([]byte(nil), good[dqt:dqt+2+389]...)
	for k := 0; k < maxSubbands; k++ {
		copy(seg[2+2+3+6*k:], []byte{0, 0, 1, 0, 0, 1}) // Q = Z = 1
	}
	second := findMarker(good[findMarker(good, 0xA3)+2:], 0xA6) + findMarker(good, 0xA3) + 2 // block 2's DHT
	b := append(append(append([]byte(nil), good[:second]...), seg...), good[second:]...)
	img, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Decode(good)
	if !bytes.Equal(img.Pix, want.Pix) {
		t.Fatal("a late DQT changed the image")
	}
}
