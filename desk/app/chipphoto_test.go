package app

import (
	"bytes"
	"encoding/base64"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
)

// The chip photo reaches the window as a JPEG data: URL whether the chip stores JPEG (shown as
// is) or JPEG 2000 (transcoded: browsers do not decode it), in the JP2 file format or as a raw
// codestream; a portrait that cannot be decoded shows nothing rather than a broken image.
func TestChipPhotoURL(t *testing.T) {
	vectors := filepath.Join("..", "..", "reader", "faceimg", "testdata")
	jp2, err := os.ReadFile(filepath.Join(vectors, "face.jp2"))
	if err != nil {
		t.Fatal(err)
	}
	j2k, err := os.ReadFile(filepath.Join(vectors, "face.j2k"))
	if err != nil {
		t.Fatal(err)
	}
	jpg, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	photo := func(f lds.Face) (chipPhoto []byte, url string) {
		c, v := chipFrom(&reader.ChipData{Faces: []lds.Face{f}}, &pa.Verdict{}, time.Now())
		return c.Photo, v.PhotoURL
	}
	decoded := func(name, url string) []byte {
		t.Helper()
		b64, found := strings.CutPrefix(url, "data:image/jpeg;base64,")
		if !found {
			t.Fatalf("%s: URL %.40q", name, url)
		}
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	for _, c := range []struct {
		name string
		face lds.Face
	}{
		{"jp2", lds.Face{ImageDataType: lds.ImageJPEG2000, Image: jp2}},
		{"j2k labelled JPEG", lds.Face{ImageDataType: lds.ImageJPEG, Image: j2k}},
	} {
		chip, url := photo(c.face)
		if !bytes.Equal(chip, c.face.Image) {
			t.Errorf("%s: the chip's own bytes must go to the comparison and the record", c.name)
		}
		img, err := jpeg.Decode(bytes.NewReader(decoded(c.name, url)))
		if err != nil {
			t.Fatalf("%s: shown photo is not JPEG: %v", c.name, err)
		}
		if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 250 {
			t.Errorf("%s: shown photo %v, want the 200×250 portrait", c.name, b)
		}
	}
	if _, url := photo(lds.Face{ImageDataType: lds.ImageJPEG, Image: jpg}); !bytes.Equal(decoded("jpeg", url), jpg) {
		t.Error("a JPEG chip photo must be shown as it is")
	}
	for name, f := range map[string]lds.Face{
		"truncated jp2": {ImageDataType: lds.ImageJPEG2000, Image: jp2[:len(jp2)/3]},
		"unknown type":  {ImageDataType: 7, Image: jpg},
	} {
		if _, url := photo(f); url != "" {
			t.Errorf("%s: URL %.40q, want none", name, url)
		}
	}
}
