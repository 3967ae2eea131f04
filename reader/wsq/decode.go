package wsq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// Markers (WSQ specification, table "Marker codes").
const (
	markerSOI = 0xFFA0 // start of image
	markerEOI = 0xFFA1 // end of image
	markerSOF = 0xFFA2 // start of frame
	markerSOB = 0xFFA3 // start of block
	markerDTT = 0xFFA4 // define transform table
	markerDQT = 0xFFA5 // define quantisation table
	markerDHT = 0xFFA6 // define Huffman table(s)
	markerDRT = 0xFFA7 // define restart interval
	markerCOM = 0xFFA8 // comment
)

// MaxPixels bounds width × height of the images Decode accepts (a 1000 ppi ten-print slap is
// about 3,200 × 2,000).
const MaxPixels = 1 << 24

const maxHuffTables = 8

func init() {
	image.RegisterFormat("wsq", "\xff\xa0", func(r io.Reader) (image.Image, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		return Decode(b)
	}, func(r io.Reader) (image.Config, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			return image.Config{}, err
		}
		return DecodeConfig(b)
	})
}

// frame is the SOF header.
type frame struct {
	width, height  int
	shift, scale   float64 // M and R: pixel = R·y + M
	encoder        byte
	implementation uint16
}

type quantTable struct {
	center float64 // C
	q, z   [maxSubbands]float64
}

type decoderState struct {
	data  []byte
	pos   int
	lo    []float64 // analysis low-pass half (centre first), from the DTT
	hi    []float64
	dqt   *quantTable
	dht   [maxHuffTables]*huffTable
	frame *frame
}

func (d *decoderState) u16() (int, error) {
	if d.pos+2 > len(d.data) {
		return 0, io.ErrUnexpectedEOF
	}
	d.pos += 2
	return int(binary.BigEndian.Uint16(d.data[d.pos-2:])), nil
}

func (d *decoderState) marker() (int, error) {
	m, err := d.u16()
	if err != nil {
		return 0, fmt.Errorf("marker: %w", err)
	}
	if m>>8 != 0xFF {
		return 0, fmt.Errorf("expected a marker at offset %d, found %04X", d.pos-2, m)
	}
	return m, nil
}

// segment returns the payload of a marker segment (after its 2-byte length, which counts itself).
func (d *decoderState) segment(name string) ([]byte, error) {
	n, err := d.u16()
	if err != nil {
		return nil, fmt.Errorf("%s length: %w", name, err)
	}
	if n < 2 || d.pos+n-2 > len(d.data) {
		return nil, fmt.Errorf("%s: length %d, %d bytes left: %w", name, n, len(d.data)-d.pos, io.ErrUnexpectedEOF)
	}
	p := d.data[d.pos : d.pos+n-2]
	d.pos += n - 2
	return p, nil
}

// scaled reads the specification's (exponent, unsigned integer) pair: value = integer / 10^exponent.
func scaled(exp byte, v uint64) float64 { return float64(v) / math.Pow(10, float64(exp)) }

// table reads a DTT, DQT, DHT, DRT or COM segment; other markers are an error.
func (d *decoderState) table(m int) error {
	switch m {
	case markerDTT:
		p, err := d.segment("DTT")
		if err != nil {
			return err
		}
		return d.readDTT(p)
	case markerDQT:
		p, err := d.segment("DQT")
		if err != nil {
			return err
		}
		return d.readDQT(p)
	case markerDHT:
		p, err := d.segment("DHT")
		if err != nil {
			return err
		}
		return d.readDHT(p)
	case markerDRT:
		p, err := d.segment("DRT")
		if err != nil {
			return err
		}
		if len(p) != 2 {
			return fmt.Errorf("DRT: %d bytes, want 2", len(p))
		}
		return nil // restart markers are honoured wherever they appear
	case markerCOM:
		_, err := d.segment("COM")
		return err
	}
	return fmt.Errorf("unexpected marker %04X at offset %d", m, d.pos-2)
}

// readDTT: L (analysis low-pass length), H (high-pass length), then the second halves of the
// low-pass and high-pass filters from the centre tap, each as sign, exponent, 32-bit integer.
func (d *decoderState) readDTT(p []byte) error {
	if len(p) < 2 {
		return errors.New("DTT: truncated")
	}
	nlo, nhi := int(p[0]), int(p[1])
	if nlo%2 == 0 || nhi%2 == 0 {
		return fmt.Errorf("DTT: filters of %d and %d taps: only odd-length (symmetric) filter banks are supported", nlo, nhi)
	}
	if nlo > maxFilterTaps || nhi > maxFilterTaps {
		return fmt.Errorf("DTT: filters of %d and %d taps (at most %d)", nlo, nhi, maxFilterTaps)
	}
	hlo, hhi := (nlo+1)/2, (nhi+1)/2
	if len(p) != 2+6*(hlo+hhi) {
		return fmt.Errorf("DTT: %d bytes for %d+%d taps", len(p), nlo, nhi)
	}
	read := func(b []byte) (float64, error) {
		v := scaled(b[1], uint64(binary.BigEndian.Uint32(b[2:6])))
		switch b[0] {
		case 0:
		case 1:
			v = -v
		default:
			return 0, fmt.Errorf("DTT: sign byte %d", b[0])
		}
		return v, nil
	}
	lo, hi := make([]float64, hlo), make([]float64, hhi)
	var err error
	for i := range lo {
		if lo[i], err = read(p[2+6*i:]); err != nil {
			return err
		}
	}
	for i := range hi {
		if hi[i], err = read(p[2+6*(hlo+i):]); err != nil {
			return err
		}
	}
	d.lo, d.hi = lo, hi
	return nil
}

// readDQT: exponent and value of the bin centre C, then per subband 0–63 the bin width Q and the
// zero-bin width Z (exponent, 16-bit value each).
func (d *decoderState) readDQT(p []byte) error {
	if len(p) != 3+6*maxSubbands {
		return fmt.Errorf("DQT: %d bytes, want %d", len(p), 3+6*maxSubbands)
	}
	t := &quantTable{center: scaled(p[0], uint64(binary.BigEndian.Uint16(p[1:])))}
	for k := 0; k < maxSubbands; k++ {
		b := p[3+6*k:]
		t.q[k] = scaled(b[0], uint64(binary.BigEndian.Uint16(b[1:])))
		t.z[k] = scaled(b[3], uint64(binary.BigEndian.Uint16(b[4:])))
	}
	d.dqt = t
	return nil
}

// readDHT: one or more tables, each an identifier, 16 counts of code lengths and the values.
func (d *decoderState) readDHT(p []byte) error {
	if len(p) == 0 {
		return errors.New("DHT: empty")
	}
	for len(p) > 0 {
		if len(p) < 1+maxHuffBits {
			return errors.New("DHT: truncated table header")
		}
		id := int(p[0])
		if id >= maxHuffTables {
			return fmt.Errorf("DHT: table identifier %d (at most %d)", id, maxHuffTables-1)
		}
		t := &huffTable{}
		n := 0
		for l := 1; l <= maxHuffBits; l++ {
			t.bits[l] = int(p[l])
			n += t.bits[l]
		}
		if n > maxHuffVals {
			return fmt.Errorf("DHT: %d values (at most %d)", n, maxHuffVals)
		}
		if len(p) < 1+maxHuffBits+n {
			return errors.New("DHT: truncated values")
		}
		t.values = append([]byte(nil), p[1+maxHuffBits:1+maxHuffBits+n]...)
		if _, err := t.decoder(); err != nil {
			return err
		}
		d.dht[id] = t
		p = p[1+maxHuffBits+n:]
	}
	return nil
}

// readSOF: black and white levels, height, width, M and R (exponent, 16-bit value), encoder
// number and software implementation number.
func (d *decoderState) readSOF() error {
	p, err := d.segment("SOF")
	if err != nil {
		return err
	}
	if len(p) != 15 {
		return fmt.Errorf("SOF: %d bytes, want 15", len(p))
	}
	f := &frame{
		height:  int(binary.BigEndian.Uint16(p[2:])),
		width:   int(binary.BigEndian.Uint16(p[4:])),
		shift:   scaled(p[6], uint64(binary.BigEndian.Uint16(p[7:]))),
		scale:   scaled(p[9], uint64(binary.BigEndian.Uint16(p[10:]))),
		encoder: p[12], implementation: binary.BigEndian.Uint16(p[13:]),
	}
	if f.width == 0 || f.height == 0 {
		return fmt.Errorf("SOF: empty image %d×%d", f.width, f.height)
	}
	if f.width*f.height > MaxPixels {
		return fmt.Errorf("SOF: %d×%d image exceeds %d pixels", f.width, f.height, MaxPixels)
	}
	d.frame = f
	return nil
}

// header reads SOI, the tables before the frame and the frame header.
func (d *decoderState) header() error {
	m, err := d.marker()
	if err != nil {
		return fmt.Errorf("wsq: %w", err)
	}
	if m != markerSOI {
		return fmt.Errorf("wsq: not a WSQ file (starts with %04X, want SOI FFA0)", m)
	}
	for {
		m, err := d.marker()
		if err != nil {
			return fmt.Errorf("wsq: before the frame header: %w", err)
		}
		if m == markerSOF {
			if err := d.readSOF(); err != nil {
				return fmt.Errorf("wsq: %w", err)
			}
			return nil
		}
		if err := d.table(m); err != nil {
			return fmt.Errorf("wsq: %w", err)
		}
	}
}

// DecodeConfig reads the size from the frame header.
func DecodeConfig(b []byte) (image.Config, error) {
	d := &decoderState{data: b}
	if err := d.header(); err != nil {
		return image.Config{}, err
	}
	return image.Config{ColorModel: color.GrayModel, Width: d.frame.width, Height: d.frame.height}, nil
}

// Decode decodes a WSQ file into an 8-bit grey image. Truncated, inconsistent or absurd input
// gives an error, never a panic.
func Decode(b []byte) (*image.Gray, error) {
	d := &decoderState{data: b}
	if err := d.header(); err != nil {
		return nil, err
	}
	f := d.frame
	t := newTree(f.width, f.height)
	var coeffs []int32
	var quant *quantTable // the DQT in force at the first block (a later DQT cannot resize the data)
	expected := -1
	for {
		m, err := d.marker()
		if err != nil {
			return nil, fmt.Errorf("wsq: after block %d: %w", 0, err)
		}
		if m == markerEOI {
			break
		}
		if m != markerSOB {
			if err := d.table(m); err != nil {
				return nil, fmt.Errorf("wsq: %w", err)
			}
			continue
		}
		p, err := d.segment("SOB")
		if err != nil {
			return nil, fmt.Errorf("wsq: %w", err)
		}
		if len(p) != 1 {
			return nil, fmt.Errorf("wsq: SOB header of %d bytes, want 1", len(p))
		}
		if d.dqt == nil || d.lo == nil {
			return nil, errors.New("wsq: block before the DQT and DTT tables")
		}
		if expected < 0 {
			quant = d.dqt
			expected = 0
			for k := 0; k < numSubbands; k++ {
				if d.dqt.q[k] != 0 {
					expected += t.sub[k].area()
				}
			}
			coeffs = make([]int32, 0, expected)
		}
		id := int(p[0])
		if id >= maxHuffTables || d.dht[id] == nil {
			return nil, fmt.Errorf("wsq: block uses undefined Huffman table %d", id)
		}
		hd, err := d.dht[id].decoder()
		if err != nil {
			return nil, fmt.Errorf("wsq: %w", err)
		}
		r := &bitReader{data: d.data, pos: d.pos}
		if coeffs, err = decodeBlock(r, hd, coeffs, expected); err != nil {
			return nil, fmt.Errorf("wsq: block at offset %d: %w", d.pos, err)
		}
		d.pos = r.pos
	}
	if expected < 0 {
		return nil, errors.New("wsq: no coded block")
	}
	if len(coeffs) != expected {
		return nil, fmt.Errorf("wsq: %d coefficients decoded, the subbands hold %d", len(coeffs), expected)
	}
	return d.pixels(t, quant, coeffs)
}

// decodeBlock appends the coefficients of one entropy-coded segment.
func decodeBlock(r *bitReader, hd *huffDecoder, coeffs []int32, limit int) ([]int32, error) {
	for {
		cat, done, err := r.decode(hd)
		if err != nil {
			return nil, err
		}
		if done {
			return coeffs, nil
		}
		var run int
		var v int32
		switch {
		case cat >= 1 && cat <= maxZeroRun:
			run = cat
		case cat == catPos8 || cat == catNeg8 || cat == catRun8:
			x, err := r.bits(8)
			if err != nil {
				return nil, err
			}
			if cat == catRun8 {
				run = int(x)
			} else {
				v = int32(x)
			}
		case cat == catPos16 || cat == catNeg16 || cat == catRun16:
			x, err := r.bits(16)
			if err != nil {
				return nil, err
			}
			if cat == catRun16 {
				run = int(x)
			} else {
				v = int32(x)
			}
		case cat > catRun16 && cat < 0xFF:
			v = int32(cat - catOffset)
		default:
			return nil, fmt.Errorf("invalid category %d", cat)
		}
		if cat == catNeg8 || cat == catNeg16 {
			v = -v
		}
		if run == 0 && (cat <= maxZeroRun || cat == catRun8 || cat == catRun16) {
			continue // an escaped run of zero length
		}
		n := run
		if run == 0 {
			n = 1
		}
		if len(coeffs)+n > limit {
			return nil, fmt.Errorf("more coefficients than the %d the subbands hold", limit)
		}
		if run > 0 {
			coeffs = append(coeffs, make([]int32, run)...)
		} else {
			coeffs = append(coeffs, v)
		}
	}
}

// pixels dequantises the coefficients into their subbands, runs the synthesis and maps to 8 bits.
func (d *decoderState) pixels(t *tree, quant *quantTable, coeffs []int32) (*image.Gray, error) {
	f := d.frame
	w, h := f.width, f.height
	plane := make([]float32, w*h)
	c := quant.center
	i := 0
	for k := 0; k < numSubbands; k++ {
		q, z := quant.q[k], quant.z[k]
		if q == 0 {
			continue
		}
		r := t.sub[k]
		for y := r.y; y < r.y+r.h; y++ {
			row := plane[y*w+r.x : y*w+r.x+r.w]
			for x := range row {
				p := float64(coeffs[i])
				i++
				switch {
				case p > 0:
					row[x] = float32(q*(p-c) + z/2)
				case p < 0:
					row[x] = float32(q*(p+c) - z/2)
				}
			}
		}
	}
	reconstruct(plane, w, t, newSynthesis(d.lo, d.hi))
	img := image.NewGray(image.Rect(0, 0, w, h))
	for j, v := range plane {
		// pixel = R·y + M, rounded; NaN (absurd filters) and out-of-range values clamp.
		p := math.Max(0, math.Min(255, float64(v)*f.scale+f.shift+0.5))
		if p != p {
			p = 0
		}
		img.Pix[j] = uint8(p)
	}
	return img, nil
}

// IsWSQ reports whether b starts with the SOI marker.
func IsWSQ(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xA0}) }
