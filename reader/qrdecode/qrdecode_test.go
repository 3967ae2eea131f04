package qrdecode

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"rsc.io/qr"
	"rsc.io/qr/coding"
)

// The oracle is an independent encoder, rsc.io/qr: every symbol it draws must decode to its text.

func matrix(c *qr.Code) Matrix {
	m := make(Matrix, c.Size)
	for y := range m {
		m[y] = make([]bool, c.Size)
		for x := range m[y] {
			m[y][x] = c.Black(x, y)
		}
	}
	return m
}

// encode draws text at version v, level l, mask mask with rsc.io/qr's planner.
func encode(t testing.TB, text string, v, l, mask int) *qr.Code {
	t.Helper()
	p, err := coding.NewPlan(coding.Version(v), coding.Level(l), coding.Mask(mask))
	if err != nil {
		t.Fatal(err)
	}
	var enc coding.Encoding = coding.String(text)
	switch {
	case coding.Num(text).Check() == nil:
		enc = coding.Num(text)
	case coding.Alpha(text).Check() == nil:
		enc = coding.Alpha(text)
	}
	cc, err := p.Encode(enc)
	if err != nil {
		t.Fatal(err)
	}
	return &qr.Code{Bitmap: cc.Bitmap, Size: cc.Size, Stride: cc.Stride, Scale: 1}
}

// TestEveryVersionLevelMask: all 40 versions × 4 levels, every mask on versions 1–10 and one mask
// (cycling) above, with numeric, alphanumeric and byte (UTF-8 Vietnamese) texts filling a good
// part of the capacity.
func TestEveryVersionLevelMask(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for v := 1; v <= 40; v++ {
		for l := 0; l < 4; l++ {
			capBytes := coding.Version(v).DataBytes(coding.Level(l))
			for mask := 0; mask < 8; mask++ {
				if v > 10 && mask != (v+l)%8 {
					continue
				}
				var text string
				switch mask % 3 {
				case 0:
					text = digits(r, capBytes*2)
				case 1:
					text = alnumText(r, capBytes)
				default:
					text = vietnamese(r, capBytes-3)
				}
				m := matrix(encode(t, text, v, l, mask))
				got, sym, err := Decode(m)
				if err != nil {
					t.Fatalf("v%d %v mask %d: %v", v, Level(l), mask, err)
				}
				if got != text || sym.Version != v || sym.Level != Level(l) || sym.Mask != mask || sym.Corrected != 0 {
					t.Fatalf("v%d %v mask %d: got %q %+v", v, Level(l), mask, got, sym)
				}
			}
		}
	}
}

func digits(r *rand.Rand, n int) string {
	n = r.Intn(n/2+1) + 1
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.Intn(10))
	}
	return string(b)
}

func alnumText(r *rand.Rand, n int) string {
	n = r.Intn(n/2+1) + 1
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.Intn(len(alnum))]
	}
	return string(b)
}

func vietnamese(r *rand.Rand, maxBytes int) string {
	words := []string{"Nguyễn", "Thị", "Hương", "Số", "12", "Phố", "Hàng", "Bạc", "Quận", "Hoàn", "Kiếm", "Hà", "Nội", "|"}
	var sb strings.Builder
	limit := r.Intn(max(maxBytes, 2)/2+1) + 1
	for sb.Len() < limit {
		w := words[r.Intn(len(words))] + " "
		if sb.Len()+len(w) > maxBytes {
			break
		}
		sb.WriteString(w)
	}
	if sb.Len() == 0 {
		return "x"
	}
	return sb.String()
}

// TestCorrectsErrors: flipping modules up to the correction capacity still decodes, with the
// count of corrected codewords reported; far beyond it, decoding fails rather than inventing text.
func TestCorrectsErrors(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	text := "001099012345|013456789|Nguyễn Thị Hương|15031999|Nữ|Số 12 Phố Hàng Bạc, Phường Hàng Buồm, Quận Hoàn Kiếm, Hà Nội|20042021"
	for _, v := range []int{9, 10, 15} {
		for l := 0; l < 4; l++ {
			if len(text) > coding.Version(v).DataBytes(coding.Level(l))-3 {
				continue
			}
			m := matrix(encode(t, text, v, l, r.Intn(8)))
			fn := functionModules(v)
			nblock, ecc := ecBlocks[v].lv[l][0], ecBlocks[v].lv[l][1]
			// Damage whole codewords: flip one module in each of a few data modules chosen
			// apart; each flip hits at most one codeword, so (ecc/2)·nblock/3 flips stay within
			// the capacity of every block with a wide margin.
			flips := ecc / 2 * nblock / 3
			n := len(m)
			done := 0
			for done < flips {
				y, x := r.Intn(n), r.Intn(n)
				if fn[y][x] {
					continue
				}
				m[y][x] = !m[y][x]
				done++
			}
			got, sym, err := Decode(m)
			if err != nil || got != text {
				t.Fatalf("v%d %v with %d flips: %q, %v", v, Level(l), flips, got, err)
			}
			if sym.Corrected == 0 {
				t.Fatalf("v%d %v: %d flips and nothing corrected", v, Level(l), flips)
			}
			// Now wreck it.
			for y := 9; y < n-9; y++ {
				for x := 9; x < n-9; x++ {
					if !fn[y][x] && r.Intn(2) == 0 {
						m[y][x] = !m[y][x]
					}
				}
			}
			if got, _, err := Decode(m); err == nil && got == text {
				t.Fatalf("v%d %v: decoded after random damage to half the data", v, Level(l))
			}
		}
	}
}

// TestAlignmentCenters checks the annex E table on versions whose rows it lists.
func TestAlignmentCenters(t *testing.T) {
	for v, want := range map[int]string{
		1: "[]", 2: "[6 18]", 7: "[6 22 38]", 14: "[6 26 46 66]", 22: "[6 26 50 74 98]",
		32: "[6 34 60 86 112 138]", 36: "[6 24 50 76 102 128 154]", 40: "[6 30 58 86 114 142 170]",
	} {
		if got := fmt.Sprint(AlignmentCenters(v)); got != want {
			t.Errorf("version %d: %s, want %s", v, got, want)
		}
	}
}

// TestRejects: wrong sizes and blank matrices.
func TestRejects(t *testing.T) {
	for _, n := range []int{0, 20, 22, 181} {
		m := make(Matrix, n)
		for i := range m {
			m[i] = make([]bool, n)
		}
		if _, _, err := Decode(m); err == nil {
			t.Fatalf("size %d accepted", n)
		}
	}
	m := make(Matrix, 25)
	for i := range m {
		m[i] = make([]bool, 25)
	}
	if _, _, err := Decode(m); err == nil {
		t.Fatal("blank matrix decoded")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"HELLO", "0123456789", "001099012345|013456789|Nguyễn Thị Hương|15031999|Nữ|Hà Nội|20042021"} {
		c, err := qr.Encode(s, qr.L)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(packMatrix(matrix(c)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 1 {
			return
		}
		n := int(b[0])
		if n > 177 {
			return
		}
		b = b[1:]
		m := make(Matrix, n)
		for y := range m {
			m[y] = make([]bool, n)
			for x := range m[y] {
				i := y*n + x
				m[y][x] = i/8 < len(b) && b[i/8]>>(7-i%8)&1 == 1
			}
		}
		text, sym, err := Decode(m)
		if err == nil && (sym == nil || sym.Version != (n-17)/4) {
			t.Fatalf("decoded %q with symbol %+v", text, sym)
		}
	})
}

// packMatrix is the fuzzer's input form: the side, then the modules row by row, 8 to a byte.
func packMatrix(m Matrix) []byte {
	n := len(m)
	out := make([]byte, 1+(n*n+7)/8)
	out[0] = byte(n)
	for y := range m {
		for x := range m[y] {
			if m[y][x] {
				i := y*n + x
				out[1+i/8] |= 1 << (7 - i%8)
			}
		}
	}
	return out
}
