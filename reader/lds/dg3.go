package lds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"

	"enrolldesk/reader/fir"
	"enrolldesk/reader/tlv"
)

// Finger is one finger image of DG3 (ISO/IEC 19794-4:2005 inside CBEFF, ICAO Doc 9303 part 10
// §4.7.3).
type Finger struct {
	Position      byte // ISO/IEC 19794-4 §8.3.2 table 5: 1 right thumb … 10 left little
	Quality       byte
	Width, Height int
	Resolution    int  // pixels per centimetre (scale units 2) or inch (1), as stated
	Compression   byte // §8.2.14 table 3: 0 uncompressed, 1 bit-packed, 2 WSQ, 3 JPEG, 4 JPEG 2000, 5 PNG
	Depth         byte // bits per pixel (0 is read as 8)
	Image         []byte
}

// Compression codes of ISO/IEC 19794-4:2005 table 3 (see enrolldesk/reader/fir).
const (
	FingerRaw    = fir.Raw
	FingerWSQ    = fir.WSQ
	FingerJPEG   = fir.JPEG
	FingerJPEG2K = fir.JPEG2000
	FingerPNG    = fir.PNG
)

// Decode returns the finger image as 8-bit grey: WSQ (enrolldesk/reader/wsq), JPEG, PNG, raw or
// bit-packed, and JPEG 2000 when a decoder is registered (enrolldesk/reader/faceimg).
func (f *Finger) Decode() (*image.Gray, error) {
	depth := f.Depth
	if depth == 0 {
		depth = 8
	}
	img, err := fir.DecodeImage(f.Compression, depth, f.Width, f.Height, f.Image)
	if err != nil {
		return nil, fmt.Errorf("DG3: finger %d: %w", f.Position, err)
	}
	return img, nil
}

// ParseDG3 decodes DG3: 63 { 7F61 { 02 n, 7F60 { A1 header, 5F2E 19794-4 record } … } }.
func ParseDG3(b []byte) ([]Finger, error) {
	objs, err := biometricTemplates(b, 0x63, "DG3")
	if err != nil {
		return nil, err
	}
	var out []Finger
	for _, o := range objs {
		rec, ok, err := tlv.Find(o.Value, 0x5F2E)
		if err != nil || !ok {
			return nil, fmt.Errorf("DG3: biometric data block missing: %v", err)
		}
		r, err := fir.Parse(rec)
		if err != nil {
			return nil, fmt.Errorf("DG3: %w", err)
		}
		for _, v := range r.Views {
			out = append(out, Finger{Position: v.Position, Quality: v.Quality, Width: v.Width, Height: v.Height,
				Resolution: int(r.ImageResX), Compression: r.Compression, Depth: r.PixelDepth, Image: v.Data})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("DG3: no finger image")
	}
	return out, nil
}

// DG3Images parses DG3 and decodes every finger image (in the order of ParseDG3's fingers).
func DG3Images(b []byte) ([]*image.Gray, error) {
	fs, err := ParseDG3(b)
	if err != nil {
		return nil, err
	}
	out := make([]*image.Gray, len(fs))
	for i := range fs {
		if out[i], err = fs[i].Decode(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DG3Bytes builds DG3 with one CBEFF template per finger image (all with the same compression and
// resolution), 500 ppi stated in pixels per inch.
func DG3Bytes(fingers []Finger) []byte {
	var bits [][]byte
	for _, f := range fingers {
		rec := new(bytes.Buffer)
		total := 32 + 14 + len(f.Image)
		rec.WriteString("FIR\x00010\x00")
		rec.Write([]byte{0, 0, byte(total >> 24), byte(total >> 16), byte(total >> 8), byte(total)}) // 6-byte length
		rec.Write([]byte{0, 0})                                                                      // capture device
		rec.Write([]byte{0, 31})                                                                     // acquisition level 31 (500 ppi)
		rec.WriteByte(1)                                                                             // one finger
		rec.WriteByte(1)                                                                             // scale units: pixels per inch
		_ = binary.Write(rec, binary.BigEndian, [4]uint16{500, 500, 500, 500})
		rec.WriteByte(8) // pixel depth
		rec.WriteByte(f.Compression)
		rec.Write([]byte{0, 0})
		_ = binary.Write(rec, binary.BigEndian, uint32(14+len(f.Image)))
		rec.Write([]byte{f.Position, 1, 1, f.Quality, 0})
		_ = binary.Write(rec, binary.BigEndian, [2]uint16{uint16(f.Width), uint16(f.Height)})
		rec.WriteByte(0)
		rec.Write(f.Image)
		header := tlv.Concat(tlv.Encode(0x80, []byte{1, 1}), tlv.Encode(0x81, []byte{0x08}), // finger
			tlv.Encode(0x87, []byte{1, 1}), tlv.Encode(0x88, []byte{0, 7})) // 19794-4 finger image
		bits = append(bits, tlv.Encode(0x7F60, tlv.Concat(tlv.Encode(0xA1, header), tlv.Encode(0x5F2E, rec.Bytes()))))
	}
	return tlv.Encode(0x63, tlv.Encode(0x7F61, tlv.Concat(append([][]byte{tlv.Encode(0x02, []byte{byte(len(fingers))})}, bits...)...)))
}
