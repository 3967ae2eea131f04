package lds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// JPEG 2000 signatures: the JP2 file format's signature box (ISO/IEC 15444-1 annex I.5.1) and the
// codestream's SOC marker followed by SIZ (annex A.4.1, A.5.1).
var (
	JP2Signature = []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A}
	J2KSignature = []byte{0xFF, 0x4F, 0xFF, 0x51}
)

// IsJPEG2000 reports whether b starts like a JP2 file or a raw JPEG 2000 codestream.
func IsJPEG2000(b []byte) bool {
	return bytes.HasPrefix(b, JP2Signature[:6]) || bytes.HasPrefix(b, J2KSignature)
}

// MaxImageSide bounds the width and height a JPEG 2000 header may announce before anything
// decodes it: a chip portrait is a few hundred pixels (ICAO 9303-10, ISO/IEC 19794-5 token or full
// frontal), and a forged header must not make the decoder allocate gigabytes.
const MaxImageSide = 4096

// JPEG2000Size reads the image width and height from a JP2 file's image header box (ISO/IEC
// 15444-1 §I.5.3.1, 'ihdr' inside the 'jp2h' superbox) or a codestream's SIZ marker segment
// (§A.5.1: Xsiz−XOsiz by Ysiz−YOsiz), without decoding the image. Sizes above MaxImageSide are
// an error.
func JPEG2000Size(b []byte) (width, height int, err error) {
	var w, h uint32
	switch {
	case bytes.HasPrefix(b, J2KSignature):
		w, h, err = sizSize(b)
	case bytes.HasPrefix(b, JP2Signature):
		w, h, err = ihdrSize(b)
	default:
		return 0, 0, errors.New("JPEG 2000: no JP2 signature box or SOC marker")
	}
	if err != nil {
		return 0, 0, err
	}
	if w == 0 || h == 0 || w > MaxImageSide || h > MaxImageSide {
		return 0, 0, fmt.Errorf("JPEG 2000: image of %d×%d pixels", w, h)
	}
	return int(w), int(h), nil
}

// sizSize reads SIZ: marker FFF51, Lsiz (2), Rsiz (2), Xsiz, Ysiz, XOsiz, YOsiz (4 each).
func sizSize(b []byte) (uint32, uint32, error) {
	if len(b) < 4+2+2+16 {
		return 0, 0, errors.New("JPEG 2000: SIZ marker segment truncated")
	}
	p := b[4:]
	if int(binary.BigEndian.Uint16(p)) < 38 { // Lsiz ≥ 38 + 3·Csiz (A.5.1)
		return 0, 0, errors.New("JPEG 2000: SIZ marker segment too short")
	}
	x, y := binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:])
	xo, yo := binary.BigEndian.Uint32(p[12:]), binary.BigEndian.Uint32(p[16:])
	if xo >= x || yo >= y {
		return 0, 0, errors.New("JPEG 2000: SIZ image offset outside the reference grid")
	}
	return x - xo, y - yo, nil
}

// ihdrSize walks the top-level boxes (§I.4: LBox, TBox, optional XLBox) to 'jp2h', then its
// boxes to 'ihdr': HEIGHT (4), WIDTH (4), NC, BPC, C, UnkC, IPR.
func ihdrSize(b []byte) (uint32, uint32, error) {
	jp2h, err := findBox(b, "jp2h")
	if err != nil {
		return 0, 0, err
	}
	ihdr, err := findBox(jp2h, "ihdr")
	if err != nil {
		return 0, 0, err
	}
	if len(ihdr) < 14 {
		return 0, 0, errors.New("JPEG 2000: ihdr box truncated")
	}
	return binary.BigEndian.Uint32(ihdr[4:]), binary.BigEndian.Uint32(ihdr[0:]), nil
}

// findBox returns the contents of the first box of type typ in a sequence of boxes.
func findBox(b []byte, typ string) ([]byte, error) {
	for len(b) >= 8 {
		l := uint64(binary.BigEndian.Uint32(b))
		t := string(b[4:8])
		hdr := uint64(8)
		switch l {
		case 0: // the box runs to the end
			l = uint64(len(b))
		case 1: // extended length in XLBox
			if len(b) < 16 {
				return nil, errors.New("JPEG 2000: box header truncated")
			}
			l, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if l < hdr || l > uint64(len(b)) {
			return nil, fmt.Errorf("JPEG 2000: box %q of %d bytes, have %d", t, l, len(b))
		}
		if t == typ {
			return b[hdr:l], nil
		}
		b = b[l:]
	}
	return nil, fmt.Errorf("JPEG 2000: no %q box", typ)
}
