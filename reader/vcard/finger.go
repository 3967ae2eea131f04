package vcard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"

	"enrolldesk/reader/lds"
)

// LoadFingerTIFF reads an 8-bit grey, uncompressed baseline TIFF (as the FVC images of
// ../shared/testdata/fingerprints are) and returns it as a DG3 finger at the given position,
// PNG-compressed (ISO/IEC 19794-4 compression 5).
func LoadFingerTIFF(path string, position byte) (lds.Finger, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return lds.Finger{}, fmt.Errorf("vcard: finger: %w", err)
	}
	img, err := decodeTIFF(b)
	if err != nil {
		return lds.Finger{}, fmt.Errorf("vcard: finger %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return lds.Finger{}, err
	}
	return lds.Finger{Position: position, Quality: 60, Width: img.Rect.Dx(), Height: img.Rect.Dy(), Compression: lds.FingerPNG, Image: buf.Bytes()}, nil
}

// decodeTIFF handles the baseline subset: one IFD, 8 bits per sample, one sample, no compression,
// strips (TIFF 6.0 §§2–8).
func decodeTIFF(b []byte) (*image.Gray, error) {
	if len(b) < 8 {
		return nil, errors.New("short TIFF")
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, errors.New("not a TIFF")
	}
	off := int(bo.Uint32(b[4:8]))
	if off+2 > len(b) {
		return nil, errors.New("IFD outside the file")
	}
	n := int(bo.Uint16(b[off:]))
	tags := map[uint16][]uint32{}
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(b) {
			return nil, errors.New("IFD truncated")
		}
		tag, typ, cnt := bo.Uint16(b[e:]), bo.Uint16(b[e+2:]), bo.Uint32(b[e+4:])
		var vals []uint32
		size := map[uint16]int{3: 2, 4: 4}[typ]
		if size == 0 || cnt > 1<<16 {
			continue
		}
		data := b[e+8 : e+12]
		if int(cnt)*size > 4 {
			p := int(bo.Uint32(data))
			if p+int(cnt)*size > len(b) {
				return nil, errors.New("tag value outside the file")
			}
			data = b[p : p+int(cnt)*size]
		}
		for k := 0; k < int(cnt); k++ {
			if size == 2 {
				vals = append(vals, uint32(bo.Uint16(data[2*k:])))
			} else {
				vals = append(vals, bo.Uint32(data[4*k:]))
			}
		}
		tags[tag] = vals
	}
	one := func(t uint16) int {
		if v := tags[t]; len(v) > 0 {
			return int(v[0])
		}
		return -1
	}
	w, h := one(256), one(257)
	if w <= 0 || h <= 0 || w*h > 1<<24 {
		return nil, errors.New("bad dimensions")
	}
	if one(258) != 8 || (one(259) != 1 && one(259) != -1) || (one(277) != 1 && one(277) != -1) {
		return nil, errors.New("only uncompressed 8-bit grey TIFF is supported")
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	var pix []byte
	offs, counts := tags[273], tags[279]
	if len(offs) == 0 || len(offs) != len(counts) {
		return nil, errors.New("no strips")
	}
	for i := range offs {
		s, c := int(offs[i]), int(counts[i])
		if s+c > len(b) || s < 0 {
			return nil, errors.New("strip outside the file")
		}
		pix = append(pix, b[s:s+c]...)
	}
	if len(pix) < w*h {
		return nil, errors.New("strips shorter than the image")
	}
	copy(img.Pix, pix[:w*h])
	if one(262) == 0 { // WhiteIsZero: invert
		for i := range img.Pix {
			img.Pix[i] = 255 - img.Pix[i]
		}
	}
	return img, nil
}
