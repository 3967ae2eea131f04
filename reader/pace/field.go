package pace

import (
	"math/big"
	"math/bits"
)

// fe is an element of GF(p) for a 256-bit p, in Montgomery form (x·2²⁵⁶ mod p), as four
// little-endian 64-bit limbs.
type fe [4]uint64

// field holds the Montgomery constants of one prime.
type field struct {
	p    fe
	pInv uint64 // −p⁻¹ mod 2⁶⁴
	r2   fe     // 2⁵¹² mod p (plain limbs), to enter Montgomery form
	one  fe     // 2²⁵⁶ mod p: 1 in Montgomery form
	bigP *big.Int
}

func limbs(x *big.Int) fe {
	var out fe
	b := x.FillBytes(make([]byte, 32))
	for i := 0; i < 4; i++ {
		for j := 0; j < 8; j++ {
			out[i] |= uint64(b[31-8*i-j]) << (8 * j)
		}
	}
	return out
}

func (a fe) big() *big.Int {
	b := make([]byte, 32)
	for i := 0; i < 4; i++ {
		for j := 0; j < 8; j++ {
			b[31-8*i-j] = byte(a[i] >> (8 * j))
		}
	}
	return new(big.Int).SetBytes(b)
}

func newField(p *big.Int) *field {
	f := &field{p: limbs(p), bigP: p}
	inv := uint64(1)
	for i := 0; i < 6; i++ { // Newton iteration doubles the correct low bits each step
		inv *= 2 - f.p[0]*inv
	}
	f.pInv = -inv
	r := new(big.Int).Lsh(big.NewInt(1), 256)
	f.one = limbs(new(big.Int).Mod(r, p))
	f.r2 = limbs(new(big.Int).Mod(new(big.Int).Mul(r, r), p))
	return f
}

// mul is Montgomery multiplication a·b·2⁻²⁵⁶ mod p (CIOS method).
func (f *field) mul(a, b fe) fe {
	var t [6]uint64
	for i := 0; i < 4; i++ {
		var c, cc, hi, lo uint64
		for j := 0; j < 4; j++ {
			hi, lo = bits.Mul64(a[j], b[i])
			lo, cc = bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			hi += cc
			t[j], c = lo, hi
		}
		t[4], cc = bits.Add64(t[4], c, 0)
		t[5] = cc
		m := t[0] * f.pInv
		hi, lo = bits.Mul64(m, f.p[0])
		_, cc = bits.Add64(lo, t[0], 0)
		c = hi + cc
		for j := 1; j < 4; j++ {
			hi, lo = bits.Mul64(m, f.p[j])
			lo, cc = bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			hi += cc
			t[j-1], c = lo, hi
		}
		t[3], cc = bits.Add64(t[4], c, 0)
		t[4] = t[5] + cc
	}
	r := fe{t[0], t[1], t[2], t[3]}
	return f.reduce(r, t[4])
}

// reduce subtracts p once when r (with carry) is not below p.
func (f *field) reduce(r fe, carry uint64) fe {
	var s fe
	var b uint64
	s[0], b = bits.Sub64(r[0], f.p[0], 0)
	s[1], b = bits.Sub64(r[1], f.p[1], b)
	s[2], b = bits.Sub64(r[2], f.p[2], b)
	s[3], b = bits.Sub64(r[3], f.p[3], b)
	_, b = bits.Sub64(carry, 0, b)
	if b != 0 { // r < p
		return r
	}
	return s
}

func (f *field) add(a, b fe) fe {
	var r fe
	var c uint64
	r[0], c = bits.Add64(a[0], b[0], 0)
	r[1], c = bits.Add64(a[1], b[1], c)
	r[2], c = bits.Add64(a[2], b[2], c)
	r[3], c = bits.Add64(a[3], b[3], c)
	return f.reduce(r, c)
}

func (f *field) sub(a, b fe) fe {
	var r fe
	var bw uint64
	r[0], bw = bits.Sub64(a[0], b[0], 0)
	r[1], bw = bits.Sub64(a[1], b[1], bw)
	r[2], bw = bits.Sub64(a[2], b[2], bw)
	r[3], bw = bits.Sub64(a[3], b[3], bw)
	if bw != 0 { // add p back
		var c uint64
		r[0], c = bits.Add64(r[0], f.p[0], 0)
		r[1], c = bits.Add64(r[1], f.p[1], c)
		r[2], c = bits.Add64(r[2], f.p[2], c)
		r[3], _ = bits.Add64(r[3], f.p[3], c)
	}
	return r
}

func (f *field) toMont(x *big.Int) fe {
	return f.mul(limbs(new(big.Int).Mod(x, f.bigP)), f.r2)
}

func (f *field) fromMont(a fe) *big.Int { return f.mul(a, fe{1}).big() }

func (a fe) isZero() bool { return a[0]|a[1]|a[2]|a[3] == 0 }
