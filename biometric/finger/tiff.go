package finger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// DecodeTIFF decodes the subset of baseline TIFF 6.0 that fingerprint sensors and the FVC databases
// write: one uncompressed (Compression = 1) grayscale image with 8 bits per sample, one sample per
// pixel, stored in strips, little- or big-endian. Photometric 0 (WhiteIsZero) is inverted so the result
// always reads black as 0. Anything else is refused with an error; the decoder never panics on input.
func DecodeTIFF(data []byte) (*image.Gray, error) {
	if len(data) < 8 {
		return nil, errors.New("tiff: short header")
	}
	var bo binary.ByteOrder
	switch string(data[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, errors.New("tiff: bad byte-order mark")
	}
	if bo.Uint16(data[2:]) != 42 {
		return nil, errors.New("tiff: bad magic number")
	}
	ifd := int64(bo.Uint32(data[4:]))
	if ifd < 8 || ifd+2 > int64(len(data)) {
		return nil, fmt.Errorf("tiff: IFD offset %d out of range", ifd)
	}
	n := int64(bo.Uint16(data[ifd:]))
	if ifd+2+n*12 > int64(len(data)) {
		return nil, errors.New("tiff: truncated IFD")
	}
	var (
		width, height, bps, compression, photometric, spp, rowsPerStrip int64 = 0, 0, 1, 1, 1, 1, -1
		offsets, counts                                                 []int64
	)
	for i := int64(0); i < n; i++ {
		e := data[ifd+2+i*12 : ifd+14+i*12]
		tag, typ, cnt := bo.Uint16(e), bo.Uint16(e[2:]), int64(bo.Uint32(e[4:]))
		vals, err := tiffValues(data, bo, typ, cnt, e[8:12])
		if err != nil {
			return nil, fmt.Errorf("tiff: tag %d: %w", tag, err)
		}
		first := int64(-1)
		if len(vals) > 0 {
			first = vals[0]
		}
		switch tag {
		case 256:
			width = first
		case 257:
			height = first
		case 258:
			bps = first
		case 259:
			compression = first
		case 262:
			photometric = first
		case 273:
			offsets = vals
		case 277:
			spp = first
		case 278:
			rowsPerStrip = first
		case 279:
			counts = vals
		}
	}
	switch {
	case width <= 0 || height <= 0 || width > 1<<14 || height > 1<<14:
		return nil, fmt.Errorf("tiff: bad size %dx%d", width, height)
	case bps != 8 || spp != 1:
		return nil, fmt.Errorf("tiff: %d bits x %d samples unsupported (want 8-bit gray)", bps, spp)
	case compression != 1:
		return nil, fmt.Errorf("tiff: compression %d unsupported", compression)
	case photometric != 0 && photometric != 1:
		return nil, fmt.Errorf("tiff: photometric %d unsupported", photometric)
	case len(offsets) == 0 || len(offsets) != len(counts):
		return nil, errors.New("tiff: bad strip tables")
	}
	if rowsPerStrip <= 0 || rowsPerStrip > height {
		rowsPerStrip = height
	}
	img := image.NewGray(image.Rect(0, 0, int(width), int(height)))
	pos := int64(0)
	total := width * height
	for i, off := range offsets {
		want := rowsPerStrip * width
		if rest := total - pos; want > rest {
			want = rest
		}
		if want <= 0 {
			break
		}
		if counts[i] < want || off < 0 || off+want > int64(len(data)) {
			return nil, fmt.Errorf("tiff: strip %d out of range", i)
		}
		copy(img.Pix[pos:pos+want], data[off:off+want])
		pos += want
	}
	if pos != total {
		return nil, fmt.Errorf("tiff: strips hold %d of %d pixels", pos, total)
	}
	if photometric == 0 {
		for i, v := range img.Pix {
			img.Pix[i] = 255 - v
		}
	}
	return img, nil
}

// tiffValues reads the values of one IFD entry of type BYTE (1), SHORT (3) or LONG (4).
func tiffValues(data []byte, bo binary.ByteOrder, typ uint16, cnt int64, inline []byte) ([]int64, error) {
	var size int64
	switch typ {
	case 1:
		size = 1
	case 3:
		size = 2
	case 4:
		size = 4
	default:
		return nil, nil // types we do not need (ASCII, RATIONAL...) are ignored
	}
	if cnt < 0 || cnt > 1<<20 {
		return nil, fmt.Errorf("count %d out of range", cnt)
	}
	raw := inline
	if cnt*size > 4 {
		off := int64(bo.Uint32(inline))
		if off < 0 || off+cnt*size > int64(len(data)) {
			return nil, errors.New("value offset out of range")
		}
		raw = data[off : off+cnt*size]
	}
	vals := make([]int64, cnt)
	for i := range vals {
		switch size {
		case 1:
			vals[i] = int64(raw[i])
		case 2:
			vals[i] = int64(bo.Uint16(raw[2*i:]))
		case 4:
			vals[i] = int64(bo.Uint32(raw[4*i:]))
		}
	}
	return vals, nil
}
