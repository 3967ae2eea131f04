package pace

import (
	"crypto/cipher"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"enrolldesk/reader/sm"
)

// A PACE run happens in one group: an elliptic curve (ECDH) or the prime-order subgroup of Z*p
// (DH). group gives both the same shape, so the protocol reads once: the generic mapping is
// Ĝ = s·G + H (EC) or Ĝ = G^s·H (DH), written op(exp(s, G), H) here.
type group interface {
	order() *big.Int
	pBits() int
	base() elem
	exp(k *big.Int, g elem) elem
	op(a, b elem) (elem, error)
	encode(e elem) []byte
	decode(b []byte) (elem, error)
	// secret is the shared secret's encoding for the KDF: the x-coordinate (EC) or the element
	// itself (DH), at the field's size (ICAO Doc 9303 part 11 §4.4.3.3, BSI TR-03110 part 3 §A.2.3).
	secret(e elem) ([]byte, error)
	// comp is Comp(PK) of an encoded public key: the x-coordinate for ECDH, SHA-1 of the public
	// value for DH (BSI TR-03110 part 3 §A.2.2.3).
	comp(pk []byte) []byte
	// keyTag is the public key's tag inside the authentication token's public key data object:
	// 0x84 public value (DH), 0x86 public point (ECDH) (BSI TR-03110 part 3 §D.3.4).
	keyTag() uint32
	// encodeIM is the integrated mapping's f_G applied to x = R(s,t) mod p (part 11 §4.4.3.3.2).
	encodeIM(x *big.Int) (elem, error)
}

// elem is a group element: pt on a curve, or y in Z*p.
type elem struct {
	pt Point
	y  *big.Int
}

// ---- elliptic curves ----

type ecGroup struct{ c *Curve }

func (g ecGroup) order() *big.Int { return g.c.N }
func (g ecGroup) pBits() int      { return g.c.P.BitLen() }
func (g ecGroup) base() elem      { return elem{pt: g.c.G()} }
func (g ecGroup) keyTag() uint32  { return 0x86 }

func (g ecGroup) exp(k *big.Int, e elem) elem { return elem{pt: g.c.ScalarMult(k, e.pt)} }

func (g ecGroup) op(a, b elem) (elem, error) {
	r := g.c.Add(a.pt, b.pt)
	if r.Inf {
		return elem{}, ErrPoint
	}
	return elem{pt: r}, nil
}

func (g ecGroup) encode(e elem) []byte { return g.c.Marshal(e.pt) }

func (g ecGroup) decode(b []byte) (elem, error) {
	p, err := g.c.Unmarshal(b)
	return elem{pt: p}, err
}

func (g ecGroup) secret(e elem) ([]byte, error) {
	if e.pt.Inf {
		return nil, ErrPoint
	}
	k := make([]byte, g.c.Size)
	e.pt.X.FillBytes(k)
	return k, nil
}

func (g ecGroup) comp(pk []byte) []byte {
	if len(pk) != 1+2*g.c.Size {
		return nil
	}
	return append([]byte(nil), pk[1:1+g.c.Size]...)
}

// encodeIM maps x to a curve point with the simplified SWU encoding of ICAO Doc 9303 part 11
// appendix B (B.2, affine coordinates; p ≡ 3 mod 4, cofactor 1 for the curves here):
//
//	α = −x², X2 = −b(1+α+α²)·(a(α+α²))^(p−2), X3 = α·X2, h2 = X2³+aX2+b, U = x³·h2,
//	A = h2^(p−1−(p+1)/4); if A²·h2 = 1 then (X2, A·h2) else (X3, A·U).
func (g ecGroup) encodeIM(x *big.Int) (elem, error) {
	c := g.c
	p := c.P
	if new(big.Int).And(p, big.NewInt(3)).Int64() != 3 {
		return elem{}, errors.New("pace: integrated mapping needs p ≡ 3 mod 4")
	}
	mod := func(v *big.Int) *big.Int { return v.Mod(v, p) }
	mul := func(a, b *big.Int) *big.Int { return mod(new(big.Int).Mul(a, b)) }
	alpha := mod(new(big.Int).Neg(mul(x, x)))
	aa := mod(new(big.Int).Add(alpha, mul(alpha, alpha))) // α + α²
	den := mul(c.A, aa)
	if den.Sign() == 0 {
		return elem{}, ErrPoint
	}
	x2 := mul(mod(new(big.Int).Neg(c.B)), mod(new(big.Int).Add(big.NewInt(1), aa)))
	x2 = mul(x2, new(big.Int).Exp(den, new(big.Int).Sub(p, big.NewInt(2)), p))
	x3 := mul(alpha, x2)
	h2 := mod(new(big.Int).Add(new(big.Int).Add(mul(mul(x2, x2), x2), mul(c.A, x2)), c.B))
	u := mul(mul(mul(x, x), x), h2)
	e := new(big.Int).Sub(new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Rsh(new(big.Int).Add(p, big.NewInt(1)), 2))
	a := new(big.Int).Exp(h2, e, p)
	var pt Point
	if mul(mul(a, a), h2).Cmp(big.NewInt(1)) == 0 {
		pt = Point{X: x2, Y: mul(a, h2)}
	} else {
		pt = Point{X: x3, Y: mul(a, u)}
	}
	if !c.OnCurve(pt) {
		return elem{}, ErrPoint
	}
	return elem{pt: pt}, nil
}

// ---- Diffie–Hellman in a prime-order subgroup ----

// DHGroup is a MODP group with a prime-order subgroup: generator G of order Q modulo P.
type DHGroup struct {
	Name    string
	P, G, Q *big.Int
}

func (g *DHGroup) size() int       { return (g.P.BitLen() + 7) / 8 }
func (g *DHGroup) order() *big.Int { return g.Q }
func (g *DHGroup) pBits() int      { return g.P.BitLen() }
func (g *DHGroup) base() elem      { return elem{y: new(big.Int).Set(g.G)} }
func (g *DHGroup) keyTag() uint32  { return 0x84 }

func (g *DHGroup) exp(k *big.Int, e elem) elem { return elem{y: new(big.Int).Exp(e.y, k, g.P)} }

func (g *DHGroup) op(a, b elem) (elem, error) {
	r := new(big.Int).Mul(a.y, b.y)
	r.Mod(r, g.P)
	if r.Cmp(big.NewInt(1)) <= 0 {
		return elem{}, ErrPoint
	}
	return elem{y: r}, nil
}

// encode writes the public value as an unsigned big-endian integer of the modulus' length.
func (g *DHGroup) encode(e elem) []byte {
	b := make([]byte, g.size())
	e.y.FillBytes(b)
	return b
}

// decode accepts a public value 1 < y < p−1 in the subgroup of order q (y^q = 1 mod p), so that
// small-subgroup elements are refused.
func (g *DHGroup) decode(b []byte) (elem, error) {
	if len(b) == 0 || len(b) > g.size() {
		return elem{}, fmt.Errorf("%w: DH public value of %d bytes", ErrPoint, len(b))
	}
	y := new(big.Int).SetBytes(b)
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(g.P, big.NewInt(1))) >= 0 {
		return elem{}, fmt.Errorf("%w: DH public value out of range", ErrPoint)
	}
	if new(big.Int).Exp(y, g.Q, g.P).Cmp(big.NewInt(1)) != 0 {
		return elem{}, fmt.Errorf("%w: DH public value outside the prime-order subgroup", ErrPoint)
	}
	return elem{y: y}, nil
}

func (g *DHGroup) secret(e elem) ([]byte, error) {
	if e.y == nil || e.y.Cmp(big.NewInt(1)) <= 0 {
		return nil, ErrPoint
	}
	return g.encode(e), nil
}

func (g *DHGroup) comp(pk []byte) []byte {
	h := sha1.Sum(pk)
	return h[:]
}

// encodeIM is the DH integrated mapping f_G(x) = x^((p−1)/q) mod p (part 11 §4.4.3.3.2).
func (g *DHGroup) encodeIM(x *big.Int) (elem, error) {
	j, r := new(big.Int).QuoRem(new(big.Int).Sub(g.P, big.NewInt(1)), g.Q, new(big.Int))
	if r.Sign() != 0 {
		return elem{}, errors.New("pace: q does not divide p−1")
	}
	y := new(big.Int).Exp(x, j, g.P)
	if y.Cmp(big.NewInt(1)) <= 0 {
		return elem{}, ErrPoint
	}
	return elem{y: y}, nil
}

// The standardized DH domain parameters of BSI TR-03110 part 3 §A.2.1.1 (table 4) and ICAO Doc
// 9303 part 11 §9.5.1, IDs 0–2: the MODP groups with prime-order subgroups of RFC 5114 §2.1–2.3.
// TestDHGroups checks that p and q are prime, q divides p−1 and g has order q.
var (
	DH1024_160 = &DHGroup{
		Name: "RFC 5114 1024-bit MODP, 160-bit subgroup",
		P: hexInt("B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E2EE652C0" +
			"13ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0" +
			"A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371"),
		G: hexInt("A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F5504F213" +
			"160217B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A" +
			"D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5"),
		Q: hexInt("F518AA8781A8DF278ABA4E7D64B7CB9D49462353"),
	}
	DH2048_224 = &DHGroup{
		Name: "RFC 5114 2048-bit MODP, 224-bit subgroup",
		P: hexInt("AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75E6FA141DF95A56DBAF9A3C407BA1DF15" +
			"EB3D688A309C180E1DE6B85A1274A0A66D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207" +
			"C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A317091883681286130BC8985DB1602E714415D9330" +
			"278273C7DE31EFDC7310F7121FD5A07415987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8" +
			"BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29E3FB73C16B8E75B97EF363E2FFA31F71" +
			"CF9DE5384E71B81C0AC4DFFE0C10E64F"),
		G: hexInt("AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3A6824A4E10B9A6F0DD921F01A70C4AFA" +
			"AB739D7700C29F52C57DB17C620A8652BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A" +
			"E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D119529A45D6F834566E3025E316A330EF" +
			"BB77A86F0C1AB15B051AE3D428C8F8ACB70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381" +
			"B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD7B5A0F1C71CFFF4C19C418E1F6EC0179" +
			"81BC087F2A7065B384B890D3191F2BFA"),
		Q: hexInt("801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB"),
	}
	DH2048_256 = &DHGroup{
		Name: "RFC 5114 2048-bit MODP, 256-bit subgroup",
		P: hexInt("87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00E00DF8F1D61957D4FAF7DF4561B2AA30" +
			"16C3D91134096FAA3BF4296D830E9A7C209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B" +
			"6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76B63ACAE1CAA6B7902D52526735488A0E" +
			"F13C6D9A51BFA4AB3AD8347796524D8EF6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026" +
			"C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103A4B54330C198AF126116D2276E11715F" +
			"693877FAD7EF09CADB094AE91E1A1597"),
		G: hexInt("3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA12510DBC15077BE463FFF4FED4AAC0BB555" +
			"BE3A6C1B0C6B47B1BC3773BF7E8C6F62901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B" +
			"777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193B5045AF2767164E1DFC967C1FB3F2E55" +
			"A4BD1BFFE83B9C80D052B985D182EA0ADB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915" +
			"B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C32F63078490F00EF8D647D148D4795451" +
			"5E2327CFEF98C582664B4C0F6CC41659"),
		Q: hexInt("8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3"),
	}
)

// groupByParamID returns the group of a standardized domain parameter ID (BSI TR-03110 part 3
// §A.2.1.1): 0–2 DH (RFC 5114), 12 NIST P-256, 13 brainpoolP256r1. dh says which kind the
// protocol wants.
func groupByParamID(id int, dh bool) (group, error) {
	if dh {
		switch id {
		case 0:
			return DH1024_160, nil
		case 1:
			return DH2048_224, nil
		case 2:
			return DH2048_256, nil
		}
		return nil, fmt.Errorf("pace: DH domain parameters %d not supported (0–2)", id)
	}
	c, err := CurveByParamID(id)
	if err != nil {
		return nil, err
	}
	return ecGroup{c}, nil
}

// randomExp draws a private key in [1, order).
func randomExp(g group, rnd io.Reader) (*big.Int, error) {
	q := g.order()
	buf := make([]byte, (q.BitLen()+7)/8)
	for i := 0; i < 100; i++ {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return nil, err
		}
		k := new(big.Int).SetBytes(buf)
		if k.Sign() > 0 && k.Cmp(q) < 0 {
			return k, nil
		}
	}
	return nil, errors.New("pace: could not draw a private key")
}

// Constants of the integrated mapping's pseudo-random function (ICAO Doc 9303 part 11
// §4.4.3.3.2): c0, c1 of l = 128 bits for AES-128, of l = 256 bits for AES-192 and AES-256.
var (
	imC0 = []byte{0xa6, 0x68, 0x89, 0x2a, 0x7c, 0x41, 0xe3, 0xca, 0x73, 0x9f, 0x40, 0xb0, 0x57, 0xd8, 0x59, 0x04}
	imC1 = []byte{0xa4, 0xe1, 0x36, 0xac, 0x72, 0x5f, 0x73, 0x8b, 0x01, 0xc1, 0xf6, 0x02, 0x17, 0xc1, 0x88, 0xad}

	imC0L256 = []byte{0xd4, 0x63, 0xd6, 0x52, 0x34, 0x12, 0x4e, 0xf7, 0x89, 0x70, 0x54, 0x98, 0x6d, 0xca, 0x0a, 0x17,
		0x4e, 0x28, 0xdf, 0x75, 0x8c, 0xba, 0xa0, 0x3f, 0x24, 0x06, 0x16, 0x41, 0x4d, 0x5a, 0x16, 0x76}
	imC1L256 = []byte{0x54, 0xbd, 0x72, 0x55, 0xf0, 0xaa, 0xf8, 0x31, 0xbe, 0xc3, 0x42, 0x3f, 0xcf, 0x39, 0xd6, 0x9b,
		0x6c, 0xbf, 0x06, 0x66, 0x77, 0xd0, 0xfa, 0xae, 0x5a, 0xad, 0xd9, 0x9d, 0xf8, 0xe5, 0x35, 0x17}
)

// prfR is R_p(s, t) of the integrated mapping (part 11 §4.4.3.3.2, figure 2) with AES of key size
// k (128, 192 or 256 bits): s has l bits (l = 128 for AES-128, 256 otherwise: the smallest
// multiple of the block size not below k), t has k bits. k0 = E(t, s); then n = ⌈(log2 p + 64)/l⌉
// rounds of x_i = E(k_i, c1), k_{i+1} = E(k_i, c0), each k_i truncated to its first k bits (only
// AES-192 truncates); the output is x_1‖…‖x_n. E is CBC with a zero IV (ISO/IEC 10116).
func prfR(alg sm.Alg, s, t []byte, pBits int) ([]byte, error) {
	if alg == sm.TDES {
		return nil, errors.New("pace: integrated mapping with 3DES not supported")
	}
	k := alg.KeyLen()
	l := nonceLen(alg, true)
	c0, c1 := imC0, imC1
	if l == 32 {
		c0, c1 = imC0L256, imC1L256
	}
	if len(s) != l || len(t) != k {
		return nil, fmt.Errorf("pace: integrated mapping nonces of %d and %d bytes, want %d and %d", len(s), len(t), l, k)
	}
	enc := func(key, in []byte) ([]byte, error) {
		b, err := block(alg, key[:k])
		if err != nil {
			return nil, err
		}
		out := make([]byte, len(in))
		cipher.NewCBCEncrypter(b, make([]byte, b.BlockSize())).CryptBlocks(out, in)
		return out, nil
	}
	ki, err := enc(t, s)
	if err != nil {
		return nil, err
	}
	n := (pBits + 64 + 8*l - 1) / (8 * l)
	out := make([]byte, 0, n*l)
	for i := 0; i < n; i++ {
		x, err := enc(ki, c1)
		if err != nil {
			return nil, err
		}
		out = append(out, x...)
		if ki, err = enc(ki, c0); err != nil {
			return nil, err
		}
	}
	return out, nil
}
