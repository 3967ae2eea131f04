// Package qrdecode decodes a QR code symbol from its module matrix (ISO/IEC 18004:2015): format
// and version information with their BCH codes, unmasking, codeword placement, Reed–Solomon error
// correction per block, and the numeric, alphanumeric, byte and ECI segments. It is pure Go and
// knows nothing of images: reader/qrscan locates the symbol in a camera frame (OpenCV) and samples
// the matrix. (Debian's OpenCV 4.6 is built without the quirc decoder, so OpenCV finds QR codes
// but cannot read them.)
package qrdecode

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Level is the error-correction level.
type Level int

// Error-correction levels, in the order of ISO/IEC 18004 table 9.
const (
	L Level = iota
	M
	Q
	H
)

func (l Level) String() string { return [...]string{"L", "M", "Q", "H"}[l&3] }

// Symbol is what Decode learned besides the text.
type Symbol struct {
	Version   int
	Level     Level
	Mask      int
	Corrected int // codewords fixed by Reed–Solomon
}

// ecBlocks holds, per version (index 1..40), the total codewords and for each level the number of
// error-correction blocks and the error-correction codewords per block (ISO/IEC 18004:2015 table 9).
// When the data codewords do not divide evenly, the last blocks hold one data codeword more.
var ecBlocks = [41]struct {
	total int
	lv    [4][2]int
}{
	{},
	{26, [4][2]int{{1, 7}, {1, 10}, {1, 13}, {1, 17}}},
	{44, [4][2]int{{1, 10}, {1, 16}, {1, 22}, {1, 28}}},
	{70, [4][2]int{{1, 15}, {1, 26}, {2, 18}, {2, 22}}},
	{100, [4][2]int{{1, 20}, {2, 18}, {2, 26}, {4, 16}}},
	{134, [4][2]int{{1, 26}, {2, 24}, {4, 18}, {4, 22}}},
	{172, [4][2]int{{2, 18}, {4, 16}, {4, 24}, {4, 28}}},
	{196, [4][2]int{{2, 20}, {4, 18}, {6, 18}, {5, 26}}},
	{242, [4][2]int{{2, 24}, {4, 22}, {6, 22}, {6, 26}}},
	{292, [4][2]int{{2, 30}, {5, 22}, {8, 20}, {8, 24}}},
	{346, [4][2]int{{4, 18}, {5, 26}, {8, 24}, {8, 28}}},
	{404, [4][2]int{{4, 20}, {5, 30}, {8, 28}, {11, 24}}},
	{466, [4][2]int{{4, 24}, {8, 22}, {10, 26}, {11, 28}}},
	{532, [4][2]int{{4, 26}, {9, 22}, {12, 24}, {16, 22}}},
	{581, [4][2]int{{4, 30}, {9, 24}, {16, 20}, {16, 24}}},
	{655, [4][2]int{{6, 22}, {10, 24}, {12, 30}, {18, 24}}},
	{733, [4][2]int{{6, 24}, {10, 28}, {17, 24}, {16, 30}}},
	{815, [4][2]int{{6, 28}, {11, 28}, {16, 28}, {19, 28}}},
	{901, [4][2]int{{6, 30}, {13, 26}, {18, 28}, {21, 28}}},
	{991, [4][2]int{{7, 28}, {14, 26}, {21, 26}, {25, 26}}},
	{1085, [4][2]int{{8, 28}, {16, 26}, {20, 30}, {25, 28}}},
	{1156, [4][2]int{{8, 28}, {17, 26}, {23, 28}, {25, 30}}},
	{1258, [4][2]int{{9, 28}, {17, 28}, {23, 30}, {34, 24}}},
	{1364, [4][2]int{{9, 30}, {18, 28}, {25, 30}, {30, 30}}},
	{1474, [4][2]int{{10, 30}, {20, 28}, {27, 30}, {32, 30}}},
	{1588, [4][2]int{{12, 26}, {21, 28}, {29, 30}, {35, 30}}},
	{1706, [4][2]int{{12, 28}, {23, 28}, {34, 28}, {37, 30}}},
	{1828, [4][2]int{{12, 30}, {25, 28}, {34, 30}, {40, 30}}},
	{1921, [4][2]int{{13, 30}, {26, 28}, {35, 30}, {42, 30}}},
	{2051, [4][2]int{{14, 30}, {28, 28}, {38, 30}, {45, 30}}},
	{2185, [4][2]int{{15, 30}, {29, 28}, {40, 30}, {48, 30}}},
	{2323, [4][2]int{{16, 30}, {31, 28}, {43, 30}, {51, 30}}},
	{2465, [4][2]int{{17, 30}, {33, 28}, {45, 30}, {54, 30}}},
	{2611, [4][2]int{{18, 30}, {35, 28}, {48, 30}, {57, 30}}},
	{2761, [4][2]int{{19, 30}, {37, 28}, {51, 30}, {60, 30}}},
	{2876, [4][2]int{{19, 30}, {38, 28}, {53, 30}, {63, 30}}},
	{3034, [4][2]int{{20, 30}, {40, 28}, {56, 30}, {66, 30}}},
	{3196, [4][2]int{{21, 30}, {43, 28}, {59, 30}, {70, 30}}},
	{3362, [4][2]int{{22, 30}, {45, 28}, {62, 30}, {74, 30}}},
	{3532, [4][2]int{{24, 30}, {47, 28}, {65, 30}, {77, 30}}},
	{3706, [4][2]int{{25, 30}, {49, 28}, {68, 30}, {81, 30}}},
}

// Size returns the modules per side of a version (ISO/IEC 18004 §6.3.1: 17 + 4V).
func Size(version int) int { return 17 + 4*version }

// AlignmentCenters returns the row/column coordinates of the alignment pattern centres
// (ISO/IEC 18004 annex E): 6, then evenly spaced (even steps) up to size−7.
func AlignmentCenters(version int) []int {
	if version < 2 {
		return nil
	}
	n := version/7 + 2
	step := 26
	if version != 32 {
		d := n*2 - 2
		step = (version*4 + 4 + d - 1) / d * 2
	}
	out := make([]int, n)
	out[0] = 6
	for i := n - 1; i >= 1; i-- {
		out[i] = Size(version) - 7 - (n-1-i)*step
	}
	return out
}

// bch returns data (k bits) followed by the remainder of data·x^(n-k) divided by poly.
func bch(data, poly uint32, nk int) uint32 {
	deg := 0
	for p := poly; p > 1; p >>= 1 {
		deg++
	}
	rem := data << nk
	for i := 31; i >= deg; i-- {
		if rem&(1<<i) != 0 {
			rem ^= poly << (i - deg)
		}
	}
	return data<<nk | rem
}

// formatCode is the 15-bit masked format information for level and mask (§7.9.1: BCH(15,5)
// with generator 0x537, XOR 0x5412). Level bits: L=01, M=00, Q=11, H=10.
func formatCode(l Level, mask int) uint32 {
	lb := [...]uint32{1, 0, 3, 2}[l]
	return bch(lb<<3|uint32(mask), 0x537, 10) ^ 0x5412
}

// versionCode is the 18-bit version information (§7.10: BCH(18,6) with generator 0x1F25).
func versionCode(v int) uint32 { return bch(uint32(v), 0x1F25, 12) }

func hamming(a, b uint32) int {
	n := 0
	for x := a ^ b; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// Matrix is a square module matrix, m[row][col], true for dark.
type Matrix [][]bool

var (
	// ErrGeometry: the matrix is not a QR code symbol's size.
	ErrGeometry = errors.New("qrdecode: matrix is not a QR code size")
	// ErrFormat: neither copy of the format information is readable.
	ErrFormat = errors.New("qrdecode: format information unreadable")
	// ErrVersion: the version information does not match the size.
	ErrVersion = errors.New("qrdecode: version information unreadable or inconsistent")
	// ErrData: Reed–Solomon could not correct a block, or the segments are malformed.
	ErrData = errors.New("qrdecode: data unreadable")
)

// Decode reads the symbol in m (a 21×21 … 177×177 module matrix in its upright orientation:
// finder patterns top left, top right and bottom left) and returns its text. Byte segments are
// taken as UTF-8 when they are valid UTF-8 (what CCCD codes and most encoders write), otherwise
// as ISO-8859-1, the standard's default; an ECI 3 or 26 designator decides explicitly.
func Decode(m Matrix) (string, *Symbol, error) {
	n := len(m)
	if n < 21 || n > 177 || (n-17)%4 != 0 {
		return "", nil, fmt.Errorf("%w: %d rows", ErrGeometry, n)
	}
	for _, r := range m {
		if len(r) != n {
			return "", nil, fmt.Errorf("%w: ragged rows", ErrGeometry)
		}
	}
	version := (n - 17) / 4
	bit := func(r, c int) uint32 {
		if m[r][c] {
			return 1
		}
		return 0
	}
	// Format information, both copies (§7.9.1, figure 25); bit 0 is the least significant.
	var f1, f2 uint32
	for i := 0; i < 15; i++ {
		var r1, c1, r2, c2 int
		switch {
		case i < 6:
			r1, c1 = i, 8
		case i < 8:
			r1, c1 = i+1, 8
		case i == 8:
			r1, c1 = 8, 7
		default:
			r1, c1 = 8, 14-i
		}
		if i < 8 {
			r2, c2 = 8, n-1-i
		} else {
			r2, c2 = n-15+i, 8
		}
		f1 |= bit(r1, c1) << i
		f2 |= bit(r2, c2) << i
	}
	best, sym := 16, &Symbol{Version: version}
	for l := L; l <= H; l++ {
		for mask := 0; mask < 8; mask++ {
			code := formatCode(l, mask)
			if d := min(hamming(code, f1), hamming(code, f2)); d < best {
				best, sym.Level, sym.Mask = d, l, mask
			}
		}
	}
	if best > 3 {
		return "", nil, ErrFormat
	}
	// Version information for versions 7 and up (§7.10, figure 27).
	if version >= 7 {
		var v1, v2 uint32
		for i := 0; i < 18; i++ {
			v1 |= bit(n-11+i%3, i/3) << i
			v2 |= bit(i/3, n-11+i%3) << i
		}
		bestV, dv := 0, 19
		for v := 7; v <= 40; v++ {
			c := versionCode(v)
			if d := min(hamming(c, v1), hamming(c, v2)); d < dv {
				bestV, dv = v, d
			}
		}
		if dv > 3 || bestV != version {
			return "", nil, fmt.Errorf("%w: size says %d, information says %d (distance %d)", ErrVersion, version, bestV, dv)
		}
	}
	fn := functionModules(version)
	// Codewords in placement order (§7.7.3): two-module columns from the right, alternately
	// upwards and downwards, skipping the vertical timing pattern.
	total := ecBlocks[version].total
	raw := make([]byte, 0, total)
	var cur byte
	nb := 0
	up := true
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for k := 0; k < n; k++ {
			row := k
			if up {
				row = n - 1 - k
			}
			for _, col := range []int{right, right - 1} {
				if fn[row][col] {
					continue
				}
				v := m[row][col] != maskBit(sym.Mask, row, col)
				cur <<= 1
				if v {
					cur |= 1
				}
				nb++
				if nb == 8 {
					raw = append(raw, cur)
					cur, nb = 0, 0
				}
			}
		}
		up = !up
	}
	if len(raw) < total {
		return "", nil, fmt.Errorf("%w: %d codewords placed, want %d", ErrGeometry, len(raw), total)
	}
	raw = raw[:total]
	// De-interleave (§7.6): data codewords block by block, then error-correction codewords.
	nblock, ecc := ecBlocks[version].lv[sym.Level][0], ecBlocks[version].lv[sym.Level][1]
	ndata := total - nblock*ecc
	short := ndata / nblock
	long := ndata % nblock // the last `long` blocks hold short+1 data codewords
	blocks := make([][]byte, nblock)
	for i := range blocks {
		d := short
		if i >= nblock-long {
			d++
		}
		blocks[i] = make([]byte, d+ecc)
	}
	k := 0
	for j := 0; j <= short; j++ {
		for i := range blocks {
			d := len(blocks[i]) - ecc
			if j < d {
				blocks[i][j] = raw[k]
				k++
			}
		}
	}
	for j := 0; j < ecc; j++ {
		for i := range blocks {
			blocks[i][len(blocks[i])-ecc+j] = raw[k]
			k++
		}
	}
	data := make([]byte, 0, ndata)
	for i, b := range blocks {
		fixed, err := correct(b, ecc)
		if err != nil {
			return "", nil, fmt.Errorf("%w: block %d of %d: %v", ErrData, i+1, nblock, err)
		}
		sym.Corrected += fixed
		data = append(data, b[:len(b)-ecc]...)
	}
	text, err := segments(data, version)
	if err != nil {
		return "", nil, err
	}
	return text, sym, nil
}

// maskBit is the data mask pattern (§7.8.2, table 10); i is the row, j the column.
func maskBit(mask, i, j int) bool {
	switch mask {
	case 0:
		return (i+j)%2 == 0
	case 1:
		return i%2 == 0
	case 2:
		return j%3 == 0
	case 3:
		return (i+j)%3 == 0
	case 4:
		return (i/2+j/3)%2 == 0
	case 5:
		return (i*j)%2+(i*j)%3 == 0
	case 6:
		return ((i*j)%2+(i*j)%3)%2 == 0
	default:
		return ((i+j)%2+(i*j)%3)%2 == 0
	}
}

// functionModules marks finder patterns with separators and format areas, timing patterns,
// alignment patterns, version information and the dark module: everything that holds no data.
func functionModules(version int) [][]bool {
	n := Size(version)
	fn := make([][]bool, n)
	for i := range fn {
		fn[i] = make([]bool, n)
	}
	rect := func(r0, c0, h, w int) {
		for r := r0; r < r0+h; r++ {
			for c := c0; c < c0+w; c++ {
				fn[r][c] = true
			}
		}
	}
	rect(0, 0, 9, 9)   // top-left finder, separator, format information
	rect(0, n-8, 9, 8) // top-right
	rect(n-8, 0, 8, 9) // bottom-left (with the dark module at (n-8, 8))
	rect(6, 0, 1, n)   // timing
	rect(0, 6, n, 1)
	cs := AlignmentCenters(version)
	for _, r := range cs {
		for _, c := range cs {
			if (r == 6 && c == 6) || (r == 6 && c == n-7) || (r == n-7 && c == 6) {
				continue // would overlap a finder pattern
			}
			rect(r-2, c-2, 5, 5)
		}
	}
	if version >= 7 {
		rect(n-11, 0, 3, 6)
		rect(0, n-11, 6, 3)
	}
	return fn
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

func (r *bitReader) read(n int) (int, bool) {
	if n > r.left() {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v, true
}

// segments parses the data bit stream (§7.4): mode indicator, character count, data, repeated
// until the terminator or the end.
func segments(data []byte, version int) (string, error) {
	class := 0 // character count widths by version class (§7.4.1, table 3)
	switch {
	case version >= 27:
		class = 2
	case version >= 10:
		class = 1
	}
	r := &bitReader{b: data}
	var out strings.Builder
	var bytesBuf []byte
	eci := -1
	flush := func() {
		if len(bytesBuf) == 0 {
			return
		}
		if eci == 3 || (eci != 26 && !utf8.Valid(bytesBuf)) {
			for _, c := range bytesBuf { // ISO-8859-1 maps byte to code point
				out.WriteRune(rune(c))
			}
		} else {
			out.Write(bytesBuf)
		}
		bytesBuf = bytesBuf[:0]
	}
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrData, what) }
	for r.left() >= 4 {
		mode, _ := r.read(4)
		switch mode {
		case 0: // terminator
			flush()
			return out.String(), nil
		case 1: // numeric
			flush()
			cnt, ok := r.read([3]int{10, 12, 14}[class])
			if !ok {
				return "", bad("numeric count")
			}
			for cnt > 0 {
				take := min(cnt, 3)
				v, ok := r.read([4]int{0, 4, 7, 10}[take])
				if !ok || v >= [4]int{1, 10, 100, 1000}[take] {
					return "", bad("numeric digits")
				}
				fmt.Fprintf(&out, "%0*d", take, v)
				cnt -= take
			}
		case 2: // alphanumeric
			flush()
			cnt, ok := r.read([3]int{9, 11, 13}[class])
			if !ok {
				return "", bad("alphanumeric count")
			}
			for cnt >= 2 {
				v, ok := r.read(11)
				if !ok || v >= 45*45 {
					return "", bad("alphanumeric pair")
				}
				out.WriteByte(alnum[v/45])
				out.WriteByte(alnum[v%45])
				cnt -= 2
			}
			if cnt == 1 {
				v, ok := r.read(6)
				if !ok || v >= 45 {
					return "", bad("alphanumeric character")
				}
				out.WriteByte(alnum[v])
			}
		case 4: // byte
			cnt, ok := r.read([3]int{8, 16, 16}[class])
			if !ok || cnt*8 > r.left() {
				return "", bad("byte count")
			}
			for i := 0; i < cnt; i++ {
				v, _ := r.read(8)
				bytesBuf = append(bytesBuf, byte(v))
			}
		case 7: // ECI designator (§7.4.2.2): 1, 2 or 3 bytes
			flush()
			v, ok := r.read(8)
			if !ok {
				return "", bad("ECI")
			}
			switch {
			case v&0x80 == 0:
			case v&0xC0 == 0x80:
				w, ok := r.read(8)
				if !ok {
					return "", bad("ECI")
				}
				v = (v&0x3F)<<8 | w
			case v&0xE0 == 0xC0:
				w, ok := r.read(16)
				if !ok {
					return "", bad("ECI")
				}
				v = (v&0x1F)<<16 | w
			default:
				return "", bad("ECI designator")
			}
			eci = v
		case 3: // structured append: symbol position and parity, then the data goes on
			if _, ok := r.read(16); !ok {
				return "", bad("structured append header")
			}
		case 5: // FNC1 in first position: no data of its own
		case 9: // FNC1 in second position: application indicator
			if _, ok := r.read(8); !ok {
				return "", bad("FNC1 application indicator")
			}
		default: // kanji (8) and reserved modes
			return "", bad(fmt.Sprintf("unsupported mode %04b", mode))
		}
	}
	flush()
	return out.String(), nil
}
