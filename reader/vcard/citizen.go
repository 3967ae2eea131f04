package vcard

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"

	"enrolldesk/reader/lds"
)

// SampleCitizen is a fictitious citizen with Vietnamese diacritics in every text field.
func SampleCitizen() *Citizen {
	return &Citizen{
		IDNumber:     "001099012345",
		Surname:      "NGUYEN",
		GivenNames:   "THI HUONG",
		DateOfBirth:  "990315",
		DateOfExpiry: "240315", // the 25th birthday (CCCD expiry rule)
		Sex:          "F",
		CAN:          "482915",
		VN: lds.VNData{
			IDNumber:         "001099012345",
			FullName:         "Nguyễn Thị Hương",
			DateOfBirth:      "15/03/1999",
			Sex:              "Nữ",
			Nationality:      "Việt Nam",
			Ethnicity:        "Kinh",
			Religion:         "Không",
			PlaceOfOrigin:    "Xã Đông Hưng, Huyện Đông Hưng, Thái Bình",
			PlaceOfResidence: "Số 12 Phố Hàng Bạc, Phường Hàng Buồm, Quận Hoàn Kiếm, Hà Nội",
			IdentifyingMarks: "Nốt ruồi C:1cm trên trước mép phải",
			DateOfIssue:      "20/04/2021",
			DateOfExpiry:     "15/03/2024",
			FatherName:       "Nguyễn Văn Bình",
			MotherName:       "Trần Thị Lan",
			OldIDNumber:      "013456789",
		},
	}
}

// LoadFace reads a JPEG face (e.g. an LFW image from ../shared/testdata/faces), crops it to the
// ICAO portrait aspect of 4:5 and scales it so that the encoded JPEG is close to targetBytes (the
// chip photo of a CCCD is about 20 KB). It returns the JPEG and its size.
func LoadFace(path string, targetBytes int) ([]byte, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("vcard: face: %w", err)
	}
	defer f.Close()
	src, err := jpeg.Decode(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("vcard: face %s: %w", path, err)
	}
	b := src.Bounds()
	cw, ch := b.Dx(), b.Dy()
	if cw*5 > ch*4 {
		cw = ch * 4 / 5
	} else {
		ch = cw * 5 / 4
	}
	x0, y0 := b.Min.X+(b.Dx()-cw)/2, b.Min.Y+(b.Dy()-ch)/2
	w, h := 320, 400
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// bilinear sample of the crop
			fx := float64(x)*float64(cw-1)/float64(w-1) + float64(x0)
			fy := float64(y)*float64(ch-1)/float64(h-1) + float64(y0)
			dst.Set(x, y, bilinear(src, fx, fy))
		}
	}
	var best []byte
	for q := 95; q >= 30; q -= 5 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: q}); err != nil {
			return nil, 0, 0, err
		}
		best = buf.Bytes()
		if buf.Len() <= targetBytes {
			break
		}
	}
	return best, w, h, nil
}

func bilinear(img image.Image, fx, fy float64) color.Color {
	x0, y0 := int(fx), int(fy)
	ax, ay := fx-float64(x0), fy-float64(y0)
	b := img.Bounds()
	clamp := func(x, y int) (float64, float64, float64) {
		if x >= b.Max.X {
			x = b.Max.X - 1
		}
		if y >= b.Max.Y {
			y = b.Max.Y - 1
		}
		r, g, bb, _ := img.At(x, y).RGBA()
		return float64(r >> 8), float64(g >> 8), float64(bb >> 8)
	}
	r00, g00, b00 := clamp(x0, y0)
	r10, g10, b10 := clamp(x0+1, y0)
	r01, g01, b01 := clamp(x0, y0+1)
	r11, g11, b11 := clamp(x0+1, y0+1)
	mix := func(a, b, c, d float64) uint8 {
		v := (a*(1-ax)+b*ax)*(1-ay) + (c*(1-ax)+d*ax)*ay
		return uint8(v + 0.5)
	}
	return color.RGBA{mix(r00, r10, r01, r11), mix(g00, g10, g01, g11), mix(b00, b10, b01, b11), 255}
}
