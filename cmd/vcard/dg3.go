package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"enrolldesk/reader/lds"
	"enrolldesk/reader/vcard"
	"enrolldesk/reader/wsq"
)

// wsqFinger loads an 8-bit TIFF print as a DG3 finger and re-encodes it as WSQ (0.75 bpp, the
// compression real chips carry in their ISO/IEC 19794-4 records), so readers decode WSQ.
func wsqFinger(path string, position byte) (lds.Finger, error) {
	f, err := vcard.LoadFingerTIFF(path, position)
	if err != nil {
		return lds.Finger{}, err
	}
	img, err := png.Decode(bytes.NewReader(f.Image))
	if err != nil {
		return lds.Finger{}, fmt.Errorf("finger %s: %w", path, err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return lds.Finger{}, fmt.Errorf("finger %s: not grey", path)
	}
	if f.Image, err = wsq.Encode(g, nil); err != nil {
		return lds.Finger{}, fmt.Errorf("finger %s: %w", path, err)
	}
	f.Compression = lds.FingerWSQ
	return f, nil
}
