package wsq

import (
	"encoding/binary"
	"testing"
)

// handFile assembles a 64×64 WSQ file byte by byte from the specification's segment layouts
// (not with the encoder): the FBI 9/7 taps in the DTT (sign, decimal exponent, 32-bit integer,
// centre tap first: 0.852698679 = 852698679·10⁻⁹ …), a DQT coding only subbands 0–3, one Huffman
// table, and one block whose categories are given as bits.
func handFile(q0, z0 uint16, qExp byte, shift, scale uint16, shiftExp, scaleExp byte, table []byte, bits []byte) []byte {
	seg := func(marker uint16, payload ...byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, marker)
		b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
		return append(b, payload...)
	}
	tap := func(sign, exp byte, v uint32) []byte { return binary.BigEndian.AppendUint32([]byte{sign, exp}, v) }
	dtt := []byte{9, 7}
	for _, t := range [][]byte{
		tap(0, 9, 852698679), tap(0, 10, 3774028556), tap(1, 10, 1106244044), tap(1, 11, 2384946502), tap(0, 11, 3782845551),
		tap(0, 9, 788485616), tap(1, 10, 4180922732), tap(1, 11, 4068941761), tap(0, 10, 645388826),
	} {
		dtt = append(dtt, t...)
	}
	dqt := []byte{2, 0, 44} // C = 0.44
	for k := 0; k < 64; k++ {
		if k < 4 {
			dqt = append(dqt, qExp, byte(q0>>8), byte(q0), qExp, byte(z0>>8), byte(z0))
		} else {
			dqt = append(dqt, 0, 0, 0, 0, 0, 0)
		}
	}
	sof := []byte{0, 255, 0, 64, 0, 64, shiftExp, byte(shift >> 8), byte(shift), scaleExp, byte(scale >> 8), byte(scale), 2, 0, 0}
	out := []byte{0xFF, 0xA0}
	out = append(out, seg(0xFFA4, dtt...)...)
	out = append(out, seg(0xFFA5, dqt...)...)
	out = append(out, seg(0xFFA2, sof...)...)
	out = append(out, seg(0xFFA6, table...)...)
	out = append(out, seg(0xFFA3, 0)...)
	out = append(out, bits...)
	return append(out, 0xFF, 0xA1)
}

// pack writes a string of '0'/'1' as bytes, MSB first, pads with ones and stuffs 0x00 after 0xFF.
func pack(bits string) []byte {
	for len(bits)%8 != 0 {
		bits += "1"
	}
	var out []byte
	for i := 0; i < len(bits); i += 8 {
		var b byte
		for _, c := range bits[i : i+8] {
			b = b<<1 | byte(c-'0')
		}
		out = append(out, b)
		if b == 0xFF {
			out = append(out, 0)
		}
	}
	return out
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// table is a DHT payload: identifier 0, the 16 code-length counts, the values.
func table(counts [16]byte, values ...byte) []byte {
	return append(append([]byte{0}, counts[:]...), values...)
}

// TestKnownAnswers: hand-built files whose decoding follows from the specification's formulas
// alone. A constant image decomposes into a constant subband 0 (five low-pass levels, each ×2 for
// the √2-normalised filters: ×32) and zeros elsewhere, so a file whose subband 0 holds one bin
// index p everywhere decodes to the constant R·((p − C)·Q + Z/2)/32 + M. At 64×64, subbands 0–3
// are 2×2 each: 4 coefficients of subband 0, then 12 zeros.
func TestKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		name string
		dht  []byte
		bits string
		q, z uint16
		qExp byte
		m, r uint16 // M and R with one decimal (exponent 1)
		want uint8
	}{
		// Categories 181 (p = +1, in the table as p + 180) ×4, then 12 (a run of 12 zeros); codes
		// 00 and 01. Q = 10, Z = 12: (1 − 0.44)·10 + 6 = 11.6; /32 = 0.3625; R 100, M 100: 136.25.
		{"in-table coefficient, zero run", table([16]byte{0, 2}, 181, 12), repeat("00", 4) + "01", 10, 12, 0, 1000, 1000, 136},
		// Category 103 (positive, 16-bit escape) with p = 300 four times, then 105 (zero run,
		// 8-bit escape) of 12; codes 0 and 10. Q = 1.0, Z = 1.2 (exponent 1): 299.56 + 0.6 = 300.16;
		// /32 = 9.38; R 1, M 100: 109.38.
		{"16-bit escape, 8-bit run", table([16]byte{1, 1}, 103, 105), repeat("0"+"0000000100101100", 4) + "10" + "00001100", 10, 12, 1, 1000, 10, 109},
		// Category 102 (negative, 8-bit escape) with p = −3 four times, then 12; codes 0 and 10.
		// Q = 4, Z = 5: (−3 + 0.44)·4 − 2.5 = −12.74; /32 = −0.398125; R 200, M 150: 70.375 → 70.
		{"negative 8-bit escape", table([16]byte{1, 1}, 102, 12), repeat("0"+"00000011", 4) + "10", 4, 5, 0, 1500, 2000, 70},
	} {
		b := handFile(c.q, c.z, c.qExp, c.m, c.r, 1, 1, c.dht, pack(c.bits))
		img, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, p := range img.Pix {
			if p != c.want {
				t.Fatalf("%s: pixel %d is %d, want %d", c.name, i, p, c.want)
			}
		}
	}
}
