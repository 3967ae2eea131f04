// Package pace implements PACE (ICAO Doc 9303 part 11 §4.4, BSI TR-03110 part 2 §3.2) with the ECDH
// generic mapping, on short-Weierstrass curves with this package's own arithmetic: Go's crypto/ecdh
// has no brainpool curves, and crypto/elliptic's generic CurveParams assume a = −3, which is wrong
// for brainpoolP256r1.
package pace

import (
	"errors"
	"fmt"
	"math/big"
	"sync"
)

// Curve is y² = x³ + ax + b over GF(p) with a base point G of prime order N (cofactor 1).
type Curve struct {
	Name    string
	P, A, B *big.Int
	Gx, Gy  *big.Int
	N       *big.Int
	// Size is the byte length of a field element (32: this package's field code is 256-bit).
	Size int

	once  sync.Once
	f     *field
	aMont fe
}

// Point is an affine point; the point at infinity has Inf set.
type Point struct {
	X, Y *big.Int
	Inf  bool
}

func hexInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("pace: bad constant " + s)
	}
	return n
}

// BrainpoolP256r1 of RFC 5639 §3.4.
var BrainpoolP256r1 = &Curve{
	Name: "brainpoolP256r1",
	P:    hexInt("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"),
	A:    hexInt("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"),
	B:    hexInt("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"),
	Gx:   hexInt("8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"),
	Gy:   hexInt("547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"),
	N:    hexInt("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"),
	Size: 32,
}

// P256 is NIST P-256 (FIPS 186-4 §D.1.2.3), with a = p − 3 spelled out.
var P256 = &Curve{
	Name: "P-256",
	P:    hexInt("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
	A:    hexInt("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
	B:    hexInt("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
	Gx:   hexInt("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
	Gy:   hexInt("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"),
	N:    hexInt("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
	Size: 32,
}

// CurveByParamID maps the standardized domain parameter IDs of ICAO Doc 9303 part 11 §9.5.1
// (table 6) to the curves this package implements.
func CurveByParamID(id int) (*Curve, error) {
	switch id {
	case 12:
		return P256, nil
	case 13:
		return BrainpoolP256r1, nil
	}
	return nil, fmt.Errorf("pace: domain parameter %d not supported (12 P-256 and 13 brainpoolP256r1 are)", id)
}

// G returns the base point.
func (c *Curve) G() Point { return Point{X: new(big.Int).Set(c.Gx), Y: new(big.Int).Set(c.Gy)} }

// OnCurve reports whether p satisfies the curve equation with coordinates in [0, P).
func (c *Curve) OnCurve(p Point) bool {
	if p.Inf || p.X == nil || p.Y == nil {
		return false
	}
	if p.X.Sign() < 0 || p.X.Cmp(c.P) >= 0 || p.Y.Sign() < 0 || p.Y.Cmp(c.P) >= 0 {
		return false
	}
	y2 := new(big.Int).Mul(p.Y, p.Y)
	y2.Mod(y2, c.P)
	rhs := new(big.Int).Mul(p.X, p.X)
	rhs.Add(rhs, c.A)
	rhs.Mul(rhs, p.X)
	rhs.Add(rhs, c.B)
	rhs.Mod(rhs, c.P)
	return y2.Cmp(rhs) == 0
}

// Add returns p + q (affine chord-and-tangent rule).
func (c *Curve) Add(p, q Point) Point {
	if p.Inf {
		return q
	}
	if q.Inf {
		return p
	}
	if p.X.Cmp(q.X) == 0 {
		sum := new(big.Int).Add(p.Y, q.Y)
		if sum.Mod(sum, c.P).Sign() == 0 {
			return Point{Inf: true}
		}
		return c.Double(p)
	}
	// λ = (y2 − y1) / (x2 − x1)
	num := new(big.Int).Sub(q.Y, p.Y)
	den := new(big.Int).Sub(q.X, p.X)
	den.Mod(den, c.P)
	den.ModInverse(den, c.P)
	l := num.Mul(num, den)
	l.Mod(l, c.P)
	return c.finish(l, p, q.X)
}

// Double returns 2p.
func (c *Curve) Double(p Point) Point {
	if p.Inf || p.Y.Sign() == 0 {
		return Point{Inf: true}
	}
	// λ = (3x² + a) / 2y
	num := new(big.Int).Mul(p.X, p.X)
	num.Mul(num, big.NewInt(3))
	num.Add(num, c.A)
	den := new(big.Int).Lsh(p.Y, 1)
	den.Mod(den, c.P)
	den.ModInverse(den, c.P)
	l := num.Mul(num, den)
	l.Mod(l, c.P)
	return c.finish(l, p, p.X)
}

// finish computes x3 = λ² − x1 − x2, y3 = λ(x1 − x3) − y1.
func (c *Curve) finish(l *big.Int, p Point, x2 *big.Int) Point {
	x3 := new(big.Int).Mul(l, l)
	x3.Sub(x3, p.X)
	x3.Sub(x3, x2)
	x3.Mod(x3, c.P)
	y3 := new(big.Int).Sub(p.X, x3)
	y3.Mul(y3, l)
	y3.Sub(y3, p.Y)
	y3.Mod(y3, c.P)
	return Point{X: x3, Y: y3}
}

// ScalarMult returns k·p. It runs a Montgomery ladder over the bits of k mod N (the same sequence
// of group operations for every bit) in Jacobian coordinates over Montgomery-form limbs, so that
// the only field inversion is the final conversion back to affine.
func (c *Curve) ScalarMult(k *big.Int, p Point) Point {
	f := c.field()
	kk := new(big.Int).Mod(k, c.N)
	r0 := jac{}
	r1 := c.toJac(f, p)
	a := c.aMont
	for i := c.N.BitLen() - 1; i >= 0; i-- {
		if kk.Bit(i) == 0 {
			r1 = jacAdd(f, a, r0, r1)
			r0 = jacDouble(f, a, r0)
		} else {
			r0 = jacAdd(f, a, r0, r1)
			r1 = jacDouble(f, a, r1)
		}
	}
	return c.fromJac(f, r0)
}

// field returns the curve's Montgomery constants, computed once.
func (c *Curve) field() *field {
	c.once.Do(func() {
		c.f = newField(c.P)
		c.aMont = c.f.toMont(c.A)
	})
	return c.f
}

// jac is a point in Jacobian coordinates (X/Z², Y/Z³); Z = 0 (the zero value) is infinity.
type jac struct{ x, y, z fe }

func (c *Curve) toJac(f *field, p Point) jac {
	if p.Inf {
		return jac{}
	}
	return jac{x: f.toMont(p.X), y: f.toMont(p.Y), z: f.one}
}

func (c *Curve) fromJac(f *field, p jac) Point {
	if p.z.isZero() {
		return Point{Inf: true}
	}
	zi := new(big.Int).ModInverse(f.fromMont(p.z), c.P)
	zim := f.toMont(zi)
	zi2 := f.mul(zim, zim)
	x := f.mul(p.x, zi2)
	y := f.mul(p.y, f.mul(zi2, zim))
	return Point{X: f.fromMont(x), Y: f.fromMont(y)}
}

// jacDouble is "dbl-2007-bl" of the Explicit-Formulas Database (any a).
func jacDouble(f *field, a fe, p jac) jac {
	if p.z.isZero() || p.y.isZero() {
		return jac{}
	}
	xx := f.mul(p.x, p.x)
	yy := f.mul(p.y, p.y)
	yyyy := f.mul(yy, yy)
	zz := f.mul(p.z, p.z)
	t := f.add(p.x, yy)
	s := f.sub(f.sub(f.mul(t, t), xx), yyyy)
	s = f.add(s, s)
	m := f.add(f.add(xx, xx), xx)
	m = f.add(m, f.mul(a, f.mul(zz, zz)))
	x3 := f.sub(f.mul(m, m), f.add(s, s))
	y8 := f.add(yyyy, yyyy)
	y8 = f.add(y8, y8)
	y8 = f.add(y8, y8)
	y3 := f.sub(f.mul(m, f.sub(s, x3)), y8)
	yz := f.add(p.y, p.z)
	z3 := f.sub(f.sub(f.mul(yz, yz), yy), zz)
	return jac{x3, y3, z3}
}

// jacAdd is "add-2007-bl" of the Explicit-Formulas Database.
func jacAdd(f *field, a fe, p, q jac) jac {
	if p.z.isZero() {
		return q
	}
	if q.z.isZero() {
		return p
	}
	z1z1 := f.mul(p.z, p.z)
	z2z2 := f.mul(q.z, q.z)
	u1 := f.mul(p.x, z2z2)
	u2 := f.mul(q.x, z1z1)
	s1 := f.mul(f.mul(p.y, q.z), z2z2)
	s2 := f.mul(f.mul(q.y, p.z), z1z1)
	h := f.sub(u2, u1)
	r := f.sub(s2, s1)
	r = f.add(r, r)
	if h.isZero() {
		if r.isZero() {
			return jacDouble(f, a, p)
		}
		return jac{}
	}
	i := f.add(h, h)
	i = f.mul(i, i)
	j := f.mul(h, i)
	v := f.mul(u1, i)
	x3 := f.sub(f.sub(f.mul(r, r), j), f.add(v, v))
	s1j := f.mul(s1, j)
	y3 := f.sub(f.mul(r, f.sub(v, x3)), f.add(s1j, s1j))
	zs := f.add(p.z, q.z)
	z3 := f.mul(f.sub(f.sub(f.mul(zs, zs), z1z1), z2z2), h)
	return jac{x3, y3, z3}
}

// Marshal encodes p uncompressed: 04 || X || Y (BSI TR-03111 §3.2.1).
func (c *Curve) Marshal(p Point) []byte {
	out := make([]byte, 1+2*c.Size)
	out[0] = 4
	p.X.FillBytes(out[1 : 1+c.Size])
	p.Y.FillBytes(out[1+c.Size:])
	return out
}

// ErrPoint means a received public point is malformed, not on the curve, or the identity.
var ErrPoint = errors.New("pace: invalid elliptic curve point")

// Unmarshal decodes an uncompressed point and checks that it lies on the curve.
func (c *Curve) Unmarshal(b []byte) (Point, error) {
	if len(b) != 1+2*c.Size || b[0] != 4 {
		return Point{}, ErrPoint
	}
	p := Point{X: new(big.Int).SetBytes(b[1 : 1+c.Size]), Y: new(big.Int).SetBytes(b[1+c.Size:])}
	if !c.OnCurve(p) {
		return Point{}, ErrPoint
	}
	return p, nil
}

// Equal reports whether two points are the same.
func (p Point) Equal(q Point) bool {
	if p.Inf || q.Inf {
		return p.Inf == q.Inf
	}
	return p.X.Cmp(q.X) == 0 && p.Y.Cmp(q.Y) == 0
}
