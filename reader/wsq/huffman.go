package wsq

import (
	"errors"
	"fmt"
)

// Huffman coding of the quantised coefficients (the specification's "Huffman coding" section: the
// JPEG syntax of ITU-T T.81 annex C with 16 code lengths and at most 256 values per table).

// Categories of the coefficient code table.
const (
	maxZeroRun  = 100 // categories 1–100: a run of that many zero coefficients
	catPos8     = 101 // escape: positive coefficient in the next 8 bits
	catNeg8     = 102 // escape: negative coefficient, magnitude in the next 8 bits
	catPos16    = 103 // escape: positive coefficient in the next 16 bits
	catNeg16    = 104 // escape: negative coefficient, magnitude in the next 16 bits
	catRun8     = 105 // escape: zero run, length in the next 8 bits
	catRun16    = 106 // escape: zero run, length in the next 16 bits
	catOffset   = 180 // categories 107–254: the coefficient category − 180 (−73 … +74)
	maxInTable  = 74
	minInTable  = 1 - maxInTable
	maxHuffBits = 16
	maxHuffVals = 256
)

// huffTable is one DHT table: counts of codes of each length 1–16 and the values in code order.
type huffTable struct {
	bits   [maxHuffBits + 1]int // bits[l]: number of codes of length l
	values []byte
}

// decoder form (T.81 F.2.2.3): per length, the smallest and largest code and the index of the
// first value.
type huffDecoder struct {
	mincode, maxcode, valptr [maxHuffBits + 1]int
	values                   []byte
}

func (t *huffTable) decoder() (*huffDecoder, error) {
	d := &huffDecoder{values: t.values}
	code, k := 0, 0
	for l := 1; l <= maxHuffBits; l++ {
		d.valptr[l] = k
		d.mincode[l] = code
		code += t.bits[l]
		k += t.bits[l]
		if code > 1<<l {
			return nil, fmt.Errorf("DHT: code lengths overflow at %d bits", l)
		}
		if t.bits[l] == 0 {
			d.maxcode[l] = -1
		} else {
			d.maxcode[l] = code - 1
		}
		code <<= 1
	}
	return d, nil
}

// codes returns the encoder form: code and length per value (T.81 C.2).
func (t *huffTable) codes() (code [maxHuffVals]uint16, size [maxHuffVals]uint8) {
	c, k := 0, 0
	for l := 1; l <= maxHuffBits; l++ {
		for i := 0; i < t.bits[l]; i++ {
			v := t.values[k]
			code[v], size[v] = uint16(c), uint8(l)
			c++
			k++
		}
		c <<= 1
	}
	return code, size
}

// buildTable makes an optimal length-limited table for the category counts (T.81 annex K.2: code
// sizes by merging the two least frequent, lengths limited to 16 bits, a reserved one-count
// symbol so no code is all ones).
func buildTable(freq *[maxHuffVals]int) *huffTable {
	const reserved = maxHuffVals
	var f [maxHuffVals + 1]int
	copy(f[:], freq[:])
	f[reserved] = 1
	var size [maxHuffVals + 1]int
	var next [maxHuffVals + 1]int
	for i := range next {
		next[i] = -1
	}
	for {
		v1, v2 := -1, -1
		for i := range f { // least frequency, the largest index on ties
			if f[i] > 0 && (v1 < 0 || f[i] <= f[v1]) {
				v1 = i
			}
		}
		for i := range f {
			if f[i] > 0 && i != v1 && (v2 < 0 || f[i] <= f[v2]) {
				v2 = i
			}
		}
		if v2 < 0 {
			break
		}
		f[v1] += f[v2]
		f[v2] = 0
		for size[v1]++; next[v1] >= 0; size[v1]++ {
			v1 = next[v1]
		}
		next[v1] = v2
		for size[v2]++; next[v2] >= 0; size[v2]++ {
			v2 = next[v2]
		}
	}
	var bits [2*maxHuffVals + 2]int
	for _, s := range size {
		if s > 0 {
			bits[s]++
		}
	}
	t := &huffTable{}
	if size[reserved] == 0 { // only the reserved symbol: no category is used, an empty table

		return t
	}
	for i := len(bits) - 1; i > maxHuffBits; i-- { // K.3 Adjust_BITS
		for bits[i] > 0 {
			j := i - 2
			for bits[j] == 0 {
				j--
			}
			bits[i] -= 2
			bits[i-1]++
			bits[j+1] += 2
			bits[j]--
		}
	}
	i := maxHuffBits
	for bits[i] == 0 {
		i--
	}
	bits[i]-- // drop the reserved symbol's (longest) code
	copy(t.bits[:], bits[:maxHuffBits+1])
	for s := 1; s < len(bits); s++ { // K.4: values by code size, then value
		for v := 0; v < maxHuffVals; v++ {
			if size[v] == s {
				t.values = append(t.values, byte(v))
			}
		}
	}
	return t
}

// bitWriter writes codes MSB first with 0xFF00 byte stuffing and pads the last byte with ones.
type bitWriter struct {
	out  []byte
	acc  uint32
	nacc uint
}

func (w *bitWriter) write(v uint32, n uint) {
	w.acc = w.acc<<n | v&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		b := byte(w.acc >> (w.nacc - 8))
		w.out = append(w.out, b)
		if b == 0xFF {
			w.out = append(w.out, 0)
		}
		w.nacc -= 8
	}
	w.acc &= 1<<w.nacc - 1
}

func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.write(1<<(8-w.nacc)-1, 8-w.nacc)
	}
}

// symbols calls emit for the categories (and escape bits) that code coeffs.
func symbols(coeffs []int32, emit func(cat int, extra uint32, nbits uint)) {
	run := 0
	flush := func() {
		switch {
		case run == 0:
		case run <= maxZeroRun:
			emit(run, 0, 0)
		case run <= 0xFF:
			emit(catRun8, uint32(run), 8)
		default:
			emit(catRun16, uint32(run), 16)
		}
		run = 0
	}
	for _, c := range coeffs {
		if c == 0 {
			run++
			if run == 0xFFFF {
				flush()
			}
			continue
		}
		flush()
		switch {
		case c > 0xFF:
			emit(catPos16, uint32(c), 16)
		case c > maxInTable:
			emit(catPos8, uint32(c), 8)
		case c < -0xFF:
			emit(catNeg16, uint32(-c), 16)
		case c < minInTable:
			emit(catNeg8, uint32(-c), 8)
		default:
			emit(int(c)+catOffset, 0, 0)
		}
	}
	flush()
}

// bitReader reads one block's entropy-coded segment: MSB first, 0xFF00 unstuffed, restart
// markers RST0–7 (0xFFD0… in JPEG, 0xFFB0–0xFFB7 in WSQ) realigning to a byte; it stops before
// any other marker, which it leaves for the caller.
type bitReader struct {
	data []byte
	pos  int
	acc  uint32
	nacc uint
	end  bool // a marker (other than a restart) was reached
}

var errTruncated = errors.New("entropy-coded data truncated")

func (r *bitReader) fill() bool {
	for r.nacc <= 24 && !r.end {
		if r.pos >= len(r.data) {
			r.end = true
			break
		}
		b := r.data[r.pos]
		if b == 0xFF {
			if r.pos+1 >= len(r.data) {
				r.end = true
				break
			}
			nb := r.data[r.pos+1]
			if nb == 0 {
				r.pos += 2
			} else if nb >= 0xB0 && nb <= 0xB7 { // restart: drop the bits left, go on
				r.pos += 2
				r.acc, r.nacc = 0, 0
				continue
			} else {
				r.end = true
				break
			}
		} else {
			r.pos++
		}
		r.acc = r.acc<<8 | uint32(b)
		r.nacc += 8
	}
	return r.nacc > 0
}

func (r *bitReader) bits(n uint) (uint32, error) {
	if r.nacc < n {
		r.fill()
		if r.nacc < n {
			return 0, errTruncated
		}
	}
	v := r.acc >> (r.nacc - n) & (1<<n - 1)
	r.nacc -= n
	r.acc &= 1<<r.nacc - 1
	return v, nil
}

// decode reads one category. done is true at the end of the segment (no bits left, or only the
// ones that pad the last byte).
func (r *bitReader) decode(d *huffDecoder) (cat int, done bool, err error) {
	if r.nacc < maxHuffBits {
		r.fill()
	}
	if r.nacc == 0 {
		return 0, true, nil
	}
	code := 0
	for l := 1; l <= maxHuffBits; l++ {
		if r.nacc == 0 {
			if code == 1<<(l-1)-1 && l-1 < 8 { // only padding ones were left
				return 0, true, nil
			}
			return 0, false, errTruncated
		}
		r.nacc--
		code = code<<1 | int(r.acc>>r.nacc&1)
		r.acc &= 1<<r.nacc - 1
		if d.maxcode[l] >= 0 && code <= d.maxcode[l] && code >= d.mincode[l] {
			i := d.valptr[l] + code - d.mincode[l]
			if i >= len(d.values) {
				return 0, false, errors.New("code beyond the Huffman table's values")
			}
			return int(d.values[i]), false, nil
		}
	}
	return 0, false, errors.New("invalid Huffman code")
}
