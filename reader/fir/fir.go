// Package fir reads and writes ISO/IEC 19794-4:2005 finger image records ("FIR\0"), the format of
// the finger images in ICAO DG3 (Doc 9303 part 10 §4.7.3, inside CBEFF), and decodes their images:
// WSQ with enrolldesk/reader/wsq, JPEG and PNG with the standard library, uncompressed grey
// (packed or not) directly, JPEG 2000 when a decoder is registered with the image package
// (enrolldesk/reader/faceimg registers one).
package fir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"

	"enrolldesk/reader/wsq"
)

// Image compression algorithm codes, ISO/IEC 19794-4:2005 §8.2.14 table 3 (as JMRTD's FingerInfo
// has them). The 2011 edition renumbers JPEG 2000 (4 lossy, 5 lossless) and PNG (6); this package
// reads the 2005 edition that ICAO DG3 references.
const (
	Raw       byte = 0 // uncompressed, no bit packing
	RawPacked byte = 1 // uncompressed, bit packed
	WSQ       byte = 2 // FBI WSQ (IAFIS-IC-0110)
	JPEG      byte = 3 // ISO/IEC 10918
	JPEG2000  byte = 4 // ISO/IEC 15444
	PNG       byte = 5
)

// Scale units (§8.2.8).
const (
	PixelsPerInch       byte = 1
	PixelsPerCentimetre byte = 2
)

const (
	generalHeaderLen = 32 // §8.2: the record's general header
	viewHeaderLen    = 14 // §8.3: each finger view's header
)

// Record is one finger image record.
type Record struct {
	Version          string // "010" for the 2005 edition
	CaptureDevice    uint16 // vendor's capture device identifier (0: unreported)
	AcquisitionLevel uint16 // §8.2.6 table 1: 10, 20, 30, 31 (500 ppi, 8 bit), 40, 41 (1000 ppi)
	ScaleUnits       byte
	ScanResX         uint16
	ScanResY         uint16
	ImageResX        uint16
	ImageResY        uint16
	PixelDepth       byte // bits per pixel, 1–16
	Compression      byte
	Views            []View
}

// View is one finger view (§8.3).
type View struct {
	Position   byte // §8.3.2 table 5: 0 unknown, 1 right thumb … 10 left little, 11–15 plain/multi
	ViewCount  byte
	ViewNumber byte
	Quality    byte // 0–100, 254 not computed, 255 failed
	Impression byte // §8.3.6 table 7: 0 live-scan plain, 1 live-scan rolled, 2/3 non-live …
	Width      int  // horizontal line length
	Height     int  // vertical line length
	Data       []byte
}

// Parse reads a record. It checks every length against the data and refuses absurd values.
func Parse(b []byte) (*Record, error) {
	if len(b) < generalHeaderLen {
		return nil, fmt.Errorf("19794-4: %d bytes, shorter than the general header", len(b))
	}
	if !bytes.Equal(b[:4], []byte("FIR\x00")) {
		return nil, errors.New("19794-4: no FIR format identifier")
	}
	if string(b[4:8]) != "010\x00" {
		// The 2011 edition ("020") has another header layout and code table; ICAO DG3 uses 2005.
		return nil, fmt.Errorf("19794-4: version %q, only the 2005 edition (\"010\") is read", bytes.TrimRight(b[4:8], "\x00"))
	}
	recLen := uint64(binary.BigEndian.Uint16(b[8:]))<<32 | uint64(binary.BigEndian.Uint32(b[10:]))
	if recLen < generalHeaderLen || recLen > uint64(len(b)) {
		return nil, fmt.Errorf("19794-4: record length %d, %d bytes present", recLen, len(b))
	}
	r := &Record{
		Version:          string(b[4:7]),
		CaptureDevice:    binary.BigEndian.Uint16(b[14:]),
		AcquisitionLevel: binary.BigEndian.Uint16(b[16:]),
		ScaleUnits:       b[19],
		ScanResX:         binary.BigEndian.Uint16(b[20:]),
		ScanResY:         binary.BigEndian.Uint16(b[22:]),
		ImageResX:        binary.BigEndian.Uint16(b[24:]),
		ImageResY:        binary.BigEndian.Uint16(b[26:]),
		PixelDepth:       b[28],
		Compression:      b[29],
	}
	n := int(b[18])
	if n == 0 {
		return nil, errors.New("19794-4: no finger view")
	}
	if r.PixelDepth == 0 || r.PixelDepth > 16 {
		return nil, fmt.Errorf("19794-4: pixel depth %d", r.PixelDepth)
	}
	rest := b[generalHeaderLen:recLen]
	for i := 0; i < n; i++ {
		if len(rest) < viewHeaderLen {
			return nil, fmt.Errorf("19794-4: view %d header truncated (%d bytes left)", i+1, len(rest))
		}
		l := binary.BigEndian.Uint32(rest)
		if l < viewHeaderLen || uint64(l) > uint64(len(rest)) {
			return nil, fmt.Errorf("19794-4: view %d length %d, %d bytes left", i+1, l, len(rest))
		}
		v := View{
			Position: rest[4], ViewCount: rest[5], ViewNumber: rest[6], Quality: rest[7], Impression: rest[8],
			Width:  int(binary.BigEndian.Uint16(rest[9:])),
			Height: int(binary.BigEndian.Uint16(rest[11:])),
			Data:   rest[viewHeaderLen:l],
		}
		if v.Width == 0 || v.Height == 0 || v.Width*v.Height > wsq.MaxPixels {
			return nil, fmt.Errorf("19794-4: view %d is %d×%d", i+1, v.Width, v.Height)
		}
		r.Views = append(r.Views, v)
		rest = rest[l:]
	}
	return r, nil
}

// Marshal writes the record (the record length and view lengths are computed).
func (r *Record) Marshal() ([]byte, error) {
	if len(r.Views) == 0 || len(r.Views) > 255 {
		return nil, fmt.Errorf("19794-4: %d views", len(r.Views))
	}
	version := r.Version
	if version == "" {
		version = "010"
	}
	if version != "010" {
		return nil, fmt.Errorf("19794-4: version %q, only the 2005 edition (\"010\") is written", version)
	}
	total := generalHeaderLen
	for _, v := range r.Views {
		if v.Width <= 0 || v.Width > 0xFFFF || v.Height <= 0 || v.Height > 0xFFFF {
			return nil, fmt.Errorf("19794-4: view of %d×%d", v.Width, v.Height)
		}
		total += viewHeaderLen + len(v.Data)
	}
	out := make([]byte, 0, total)
	out = append(out, "FIR\x00"...)
	out = append(out, version...)
	out = append(out, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(uint64(total)>>32))
	out = binary.BigEndian.AppendUint32(out, uint32(total))
	out = binary.BigEndian.AppendUint16(out, r.CaptureDevice)
	out = binary.BigEndian.AppendUint16(out, r.AcquisitionLevel)
	out = append(out, byte(len(r.Views)), r.ScaleUnits)
	for _, v := range []uint16{r.ScanResX, r.ScanResY, r.ImageResX, r.ImageResY} {
		out = binary.BigEndian.AppendUint16(out, v)
	}
	out = append(out, r.PixelDepth, r.Compression, 0, 0)
	for _, v := range r.Views {
		out = binary.BigEndian.AppendUint32(out, uint32(viewHeaderLen+len(v.Data)))
		out = append(out, v.Position, v.ViewCount, v.ViewNumber, v.Quality, v.Impression)
		out = binary.BigEndian.AppendUint16(out, uint16(v.Width))
		out = binary.BigEndian.AppendUint16(out, uint16(v.Height))
		out = append(out, 0)
		out = append(out, v.Data...)
	}
	return out, nil
}

// Image decodes view i.
func (r *Record) Image(i int) (*image.Gray, error) {
	if i < 0 || i >= len(r.Views) {
		return nil, fmt.Errorf("19794-4: no view %d", i)
	}
	v := r.Views[i]
	return DecodeImage(r.Compression, r.PixelDepth, v.Width, v.Height, v.Data)
}

// Images decodes every view.
func (r *Record) Images() ([]*image.Gray, error) {
	out := make([]*image.Gray, len(r.Views))
	for i := range r.Views {
		img, err := r.Image(i)
		if err != nil {
			return nil, fmt.Errorf("view %d (finger position %d): %w", i+1, r.Views[i].Position, err)
		}
		out[i] = img
	}
	return out, nil
}

// DecodeImage decodes one finger image of the given compression, pixel depth and size into 8-bit
// grey (deeper pixels keep their 8 most significant bits, shallower ones are stretched to 0–255).
func DecodeImage(compression, depth byte, w, h int, data []byte) (*image.Gray, error) {
	if w <= 0 || h <= 0 || w*h > wsq.MaxPixels {
		return nil, fmt.Errorf("19794-4: image of %d×%d", w, h)
	}
	if depth == 0 || depth > 16 {
		return nil, fmt.Errorf("19794-4: pixel depth %d", depth)
	}
	var img image.Image
	var err error
	switch compression {
	case Raw:
		return raw(data, w, h, int(depth))
	case RawPacked:
		return packed(data, w, h, int(depth))
	case WSQ:
		img, err = wsq.Decode(data)
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case JPEG2000:
		var format string
		img, format, err = image.Decode(bytes.NewReader(data))
		if err == nil && format != "jp2" && format != "j2k" && format != "jpeg2000" {
			err = fmt.Errorf("JPEG 2000 code, but the data is %s", format)
		}
		if errors.Is(err, image.ErrFormat) {
			err = errors.New("no JPEG 2000 decoder linked (import enrolldesk/reader/faceimg)")
		}
	default:
		return nil, fmt.Errorf("19794-4: compression code %d", compression)
	}
	if err != nil {
		return nil, fmt.Errorf("19794-4: %w", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("19794-4: header says %d×%d, the image is %d×%d", w, h, b.Dx(), b.Dy())
	}
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g, nil
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(g, g.Rect, img, img.Bounds().Min, draw.Src)
	return g, nil
}

// raw: one sample per byte (depth ≤ 8) or per big-endian 16-bit word (depth > 8).
func raw(data []byte, w, h, depth int) (*image.Gray, error) {
	per := 1
	if depth > 8 {
		per = 2
	}
	if len(data) != w*h*per {
		return nil, fmt.Errorf("19794-4: raw %d×%d at %d bits needs %d bytes, have %d", w, h, depth, w*h*per, len(data))
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		if per == 2 {
			g.Pix[i] = to8(int(binary.BigEndian.Uint16(data[2*i:])), depth)
		} else {
			g.Pix[i] = to8(int(data[i]), depth)
		}
	}
	return g, nil
}

// packed: samples of depth bits, most significant first, either continuous or with each line
// starting on a byte (the length tells which).
func packed(data []byte, w, h, depth int) (*image.Gray, error) {
	cont := (w*h*depth + 7) / 8
	line := (w*depth + 7) / 8
	var stride int // bits from one line's start to the next
	switch len(data) {
	case cont:
		stride = w * depth
	case line * h:
		stride = line * 8
	default:
		return nil, fmt.Errorf("19794-4: bit-packed %d×%d at %d bits needs %d bytes, have %d", w, h, depth, cont, len(data))
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			bit := y*stride + x*depth
			v := 0
			for k := 0; k < depth; k++ {
				v = v<<1 | int(data[(bit+k)/8]>>(7-(bit+k)%8)&1)
			}
			g.Pix[y*w+x] = to8(v, depth)
		}
	}
	return g, nil
}

func to8(v, depth int) uint8 {
	switch {
	case depth == 8:
		return uint8(v)
	case depth > 8:
		return uint8(v >> (depth - 8))
	}
	return uint8(v * 255 / (1<<depth - 1))
}
