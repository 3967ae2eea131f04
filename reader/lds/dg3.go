package lds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"enrolldesk/reader/tlv"
)

// Finger is one finger image of DG3 (ISO/IEC 19794-4:2005 inside CBEFF, ICAO Doc 9303 part 10
// §4.7.3).
type Finger struct {
	Position      byte // ISO/IEC 19794-4 §8.3.2 table 5: 1 right thumb … 10 left little
	Quality       byte
	Width, Height int
	Resolution    int  // pixels per centimetre (scale units 2) or inch (1), as stated
	Compression   byte // §8.2.14 table 3: 0 uncompressed, 2 WSQ, 3 JPEG, 4 JPEG 2000, 5 PNG
	Image         []byte
}

// Compression codes of ISO/IEC 19794-4:2005 table 3.
const (
	FingerRaw    byte = 0
	FingerWSQ    byte = 2
	FingerJPEG   byte = 3
	FingerJPEG2K byte = 4
	FingerPNG    byte = 5
)

// ErrWSQ is returned by Decode for WSQ images, which this build cannot decode.
var ErrWSQ = errors.New("DG3: WSQ finger image (not decoded by this build)")

// Decode returns the finger image.
func (f *Finger) Decode() (image.Image, error) {
	switch f.Compression {
	case FingerRaw:
		if f.Width <= 0 || f.Height <= 0 || len(f.Image) != f.Width*f.Height {
			return nil, errors.New("DG3: raw image size does not match")
		}
		return &image.Gray{Pix: f.Image, Stride: f.Width, Rect: image.Rect(0, 0, f.Width, f.Height)}, nil
	case FingerPNG:
		return png.Decode(bytes.NewReader(f.Image))
	case FingerJPEG:
		return jpeg.Decode(bytes.NewReader(f.Image))
	case FingerWSQ:
		return nil, ErrWSQ
	}
	return nil, fmt.Errorf("DG3: compression %d not decoded by this build", f.Compression)
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
		fs, err := parse19794_4(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	if len(out) == 0 {
		return nil, errors.New("DG3: no finger image")
	}
	return out, nil
}

// parse19794_4 decodes an ISO/IEC 19794-4:2005 finger image record: a 32-byte general header
// (§8.2) and, per finger view, a 14-byte image header (§8.3) followed by the image.
func parse19794_4(b []byte) ([]Finger, error) {
	if len(b) < 32 || !bytes.Equal(b[:4], []byte("FIR\x00")) {
		return nil, errors.New("DG3: not an ISO/IEC 19794-4 record (FIR)")
	}
	recLen := uint64(b[8])<<40 | uint64(b[9])<<32 | uint64(binary.BigEndian.Uint32(b[10:14]))
	if recLen > uint64(len(b)) || recLen < 32 {
		return nil, fmt.Errorf("DG3: record length %d, have %d", recLen, len(b))
	}
	n := int(b[18])
	res := int(binary.BigEndian.Uint16(b[24:26]))
	comp := b[29]
	rest := b[32:recLen]
	var out []Finger
	for i := 0; i < n; i++ {
		if len(rest) < 14 {
			return nil, errors.New("DG3: finger header truncated")
		}
		l := binary.BigEndian.Uint32(rest[0:4])
		if uint64(l) > uint64(len(rest)) || l < 14 {
			return nil, fmt.Errorf("DG3: finger block length %d, have %d", l, len(rest))
		}
		f := Finger{Position: rest[4], Quality: rest[7], Width: int(binary.BigEndian.Uint16(rest[9:11])),
			Height: int(binary.BigEndian.Uint16(rest[11:13])), Resolution: res, Compression: comp, Image: rest[14:l]}
		out = append(out, f)
		rest = rest[l:]
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
