package pace

import (
	"context"
	"crypto/cipher"
	"errors"
	"math/big"
	"testing"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/tlv"
)

// TestIntegratedMappingCipherBlocks anchors the block cipher E() of R(s,t) for the AES-192 and
// AES-256 suites outside this package: NIST SP 800-38A appendix F.2.3 (CBC-AES192.Encrypt) and
// F.2.5 (CBC-AES256.Encrypt), first two blocks. Every literal is copied from the publication.
// (Neither ICAO Doc 9303 part 11 nor BSI TR-03110 publishes a worked example of the integrated
// mapping with AES-192 or AES-256; the AES-128 examples are in mapping_test.go.)
func TestIntegratedMappingCipherBlocks(t *testing.T) {
	iv := h("000102030405060708090a0b0c0d0e0f")
	plain := h("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51")
	for _, c := range []struct {
		alg       sm.Alg
		key, want string
	}{
		{sm.AES192, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", "4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a"},
		{sm.AES256, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d"},
	} {
		b, err := block(c.alg, h(c.key))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, len(plain))
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, plain)
		if string(out) != string(h(c.want)) {
			t.Fatalf("%v: %X", c.alg, out)
		}
	}
}

// TestPRFLengths checks R(s,t) against the sizes part 11 §4.4.3.3 and §4.4.3.3.2 fix: s of l bits
// (128 for AES-128, 256 for AES-192/256), t of k bits, n·l ≥ log2 p + 64 output bits, and that a
// wrong-sized nonce is refused; and that AES-192 uses only the first 24 octets of each k_i (a
// change in the last 8 octets of t's expansion cannot matter, so R depends on t only).
func TestPRFLengths(t *testing.T) {
	for _, c := range []struct {
		alg        sm.Alg
		pBits      int
		sLen, tLen int
		outLen     int
	}{
		{sm.AES128, 256, 16, 16, 48}, // ⌈320/128⌉ = 3 blocks of 16
		{sm.AES192, 256, 32, 24, 64}, // ⌈320/256⌉ = 2 blocks of 32
		{sm.AES256, 256, 32, 32, 64},
		{sm.AES256, 1024, 32, 32, 160}, // ⌈1088/256⌉ = 5
		{sm.AES192, 2048, 32, 24, 288}, // ⌈2112/256⌉ = 9
	} {
		s := make([]byte, c.sLen)
		tn := make([]byte, c.tLen)
		r, err := prfR(c.alg, s, tn, c.pBits)
		if err != nil || len(r) != c.outLen {
			t.Fatalf("%v p %d: %d bytes, %v", c.alg, c.pBits, len(r), err)
		}
		if _, err := prfR(c.alg, s[:len(s)-1], tn, c.pBits); err == nil {
			t.Fatalf("%v: short s accepted", c.alg)
		}
		if _, err := prfR(c.alg, s, append(tn, 0), c.pBits); err == nil {
			t.Fatalf("%v: long t accepted", c.alg)
		}
	}
	if _, err := prfR(sm.TDES, make([]byte, 16), make([]byte, 16), 256); err == nil {
		t.Fatal("3DES integrated mapping accepted")
	}
}

// recordingChip is chipTransmitter that also records the sizes of the GENERAL AUTHENTICATE data.
func recordingChip(t *testing.T, chip *Chip, sizes map[uint32]int) iso7816.Transmitter {
	inner := chipTransmitter(t, chip)
	return iso7816.TransmitFunc(func(ctx context.Context, apdu []byte) ([]byte, error) {
		rsp, err := inner.Transmit(ctx, apdu)
		if err != nil {
			return nil, err
		}
		c, _ := iso7816.ParseCommand(apdu)
		if c.INS == 0x86 {
			if in, err := ParseDynAuth(c.Data); err == nil {
				sizes[in.Tag] = len(in.Value)
			}
			if in, err := ParseDynAuth(rsp[:len(rsp)-2]); err == nil && in.Tag == 0x80 {
				sizes[0x80] = len(in.Value)
			}
		}
		return rsp, nil
	})
}

// TestNewSuitesRoundTrip runs terminal against chip for the integrated mapping with AES-192 and
// AES-256 (ECDH on both curves, DH on group 0) and PACE-CAM with every AES size, with the right
// and a wrong password; the nonce sizes on the wire are those of part 11 §4.4.3.3.
func TestNewSuitesRoundTrip(t *testing.T) {
	for _, c := range []struct{ mapping, cipher, id int }{
		{MappingECDHIM, 3, 13}, {MappingECDHIM, 4, 13}, {MappingECDHIM, 3, 12}, {MappingECDHIM, 4, 12},
		{MappingDHIM, 3, 0}, {MappingDHIM, 4, 0},
		{MappingECDHCAM, 2, 13}, {MappingECDHCAM, 3, 12}, {MappingECDHCAM, 4, 13},
	} {
		info := Info{Protocol: Protocol(c.mapping, c.cipher), Version: 2, ParamID: c.id}
		alg, _ := info.Alg()
		var static *big.Int
		var curve *Curve
		if info.CAM() {
			curve, _ = CurveByParamID(c.id)
			static = big.NewInt(0).SetBytes(h("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"))
		}
		for _, pw := range [][]byte{[]byte("123456"), []byte("654321")} {
			chip := &Chip{Info: info, Password: []byte("123456"), CAMKey: static}
			sizes := map[uint32]int{}
			r, err := Run(context.Background(), recordingChip(t, chip, sizes), info, PasswordCAN, pw, nil)
			if string(pw) != "123456" {
				if !errors.Is(err, ErrAuth) {
					t.Fatalf("%s wrong password: %v", info.Describe(), err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %v: %v", info.Describe(), alg, err)
			}
			if r.Session.Alg() != alg {
				t.Fatalf("%s: session %v", info.Describe(), r.Session.Alg())
			}
			if c.mapping != MappingECDHCAM {
				if sizes[0x80] != nonceLen(alg, true) || sizes[0x81] != alg.KeyLen() || r.CAM != nil {
					t.Fatalf("%s %v: z %d bytes, t %d bytes", info.Describe(), alg, sizes[0x80], sizes[0x81])
				}
				continue
			}
			if sizes[0x80] != 16 || r.CAM == nil {
				t.Fatalf("%s: z %d bytes, CAM %v", info.Describe(), sizes[0x80], r.CAM)
			}
			if err := r.CAM.Verify(curve, curve.ScalarMult(static, curve.G())); err != nil {
				t.Fatalf("%s: %v", info.Describe(), err)
			}
			other := curve.ScalarMult(big.NewInt(7), curve.G())
			if err := r.CAM.Verify(curve, other); !errors.Is(err, ErrCAM) {
				t.Fatalf("%s: another static key accepted: %v", info.Describe(), err)
			}
		}
	}
}

// TestCAMLyingChip: a chip whose chip authentication data comes from another key than DG14's
// completes PACE (the password was right) but fails the CAM check.
func TestCAMLyingChip(t *testing.T) {
	info := Info{Protocol: Protocol(MappingECDHCAM, 2), Version: 2, ParamID: 12}
	static := big.NewInt(123456789)
	chip := &Chip{Info: info, Password: []byte("123456"), CAMKey: static, CAMLie: true}
	r, err := Run(context.Background(), chipTransmitter(t, chip), info, PasswordCAN, []byte("123456"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CAM.Verify(P256, P256.ScalarMult(static, P256.G())); !errors.Is(err, ErrCAM) {
		t.Fatalf("lying chip: %v", err)
	}
	if err := r.CAM.Verify(BrainpoolP256r1, BrainpoolP256r1.G()); !errors.Is(err, ErrCAM) {
		t.Fatalf("key on another curve: %v", err)
	}
}

// TestCAMMissingOrUnexpected: a PACE-CAM chip that leaves out 8A, or a generic-mapping chip that
// adds it, is refused.
func TestCAMMissingOrUnexpected(t *testing.T) {
	for _, c := range []struct {
		mapping int
		strip   bool
	}{{MappingECDHCAM, true}, {MappingECDHGM, false}} {
		info := Info{Protocol: Protocol(c.mapping, 2), Version: 2, ParamID: 13}
		chip := &Chip{Info: info, Password: []byte("123456"), CAMKey: big.NewInt(5)}
		inner := chipTransmitter(t, chip)
		tr := iso7816.TransmitFunc(func(ctx context.Context, apdu []byte) ([]byte, error) {
			rsp, err := inner.Transmit(ctx, apdu)
			cmd, _ := iso7816.ParseCommand(apdu)
			if err != nil || cmd.INS != 0x86 || cmd.CLA != 0 {
				return rsp, err
			}
			in, err := ParseDynAuth(rsp[:len(rsp)-2])
			v, _ := tlv.Unwrap(rsp[:len(rsp)-2], 0x7C)
			if c.strip { // keep the token only
				objs, _ := tlv.ParseAll(v)
				return append(DynAuth(0x86, objs[0].Value), 0x90, 0x00), nil
			}
			if err != nil {
				return nil, err
			}
			return append(tlv.Encode(0x7C, tlv.Concat(tlv.Encode(0x86, in.Value), tlv.Encode(0x8A, make([]byte, 48)))), 0x90, 0x00), nil
		})
		if _, err := Run(context.Background(), tr, info, PasswordCAN, []byte("123456"), nil); err == nil {
			t.Fatalf("mapping %d: accepted", c.mapping)
		}
	}
}

// FuzzDecryptCAMData: arbitrary A_IC never panics, and anything accepted is a scalar in [1, n).
func FuzzDecryptCAMData(f *testing.F) {
	kenc := h("F5F0E35C0D7161EE6724EE513A0D9A7F")
	info := Info{Protocol: Protocol(MappingECDHCAM, 2), Version: 2, ParamID: 13}
	chip := &Chip{Info: info, Password: []byte("123456"), CAMKey: big.NewInt(99)}
	if _, err := Run(context.Background(), chipTransmitter(nil, chip), info, PasswordCAN, []byte("123456"), nil); err == nil {
		if a, err := chip.CAMData(); err == nil {
			f.Add(chip.kenc, a)
		}
	}
	f.Add(kenc, make([]byte, 48))
	f.Add(kenc, []byte{})
	f.Fuzz(func(t *testing.T, key, a []byte) {
		if len(key) != 16 && len(key) != 24 && len(key) != 32 {
			key = kenc
		}
		d, err := DecryptCAMData(BrainpoolP256r1, key, a)
		if err != nil {
			return
		}
		if d.CA.Sign() <= 0 || d.CA.Cmp(BrainpoolP256r1.N) >= 0 {
			t.Fatalf("CA out of range: %X", d.CA)
		}
	})
}

// FuzzParseMutualAuth: the mutual authentication answer's objects never panic the parser.
func FuzzParseMutualAuth(f *testing.F) {
	f.Add(h("8608C2B0BD78D94BA866"))
	f.Add(h("8608C2B0BD78D94BA866 8A1000112233445566778899AABBCCDDEEFF"))
	f.Add(h("8608C2B0BD78D94BA866 870A4445435641303030303130"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, a, err := ParseMutualAuth(b)
		if err == nil && tok == nil {
			t.Fatalf("accepted without a token: %X", b)
		}
		_ = a
	})
}

// FuzzChipMapIM feeds arbitrary nonces t to the chip side of the integrated mapping with AES-128,
// -192 and -256 on ECDH and DH: a t that is not k bits long is refused, nothing panics.
func FuzzChipMapIM(f *testing.F) {
	f.Add(byte(0), make([]byte, 16))
	f.Add(byte(1), make([]byte, 24))
	f.Add(byte(2), make([]byte, 32))
	f.Add(byte(5), make([]byte, 31))
	f.Fuzz(func(t *testing.T, sel byte, b []byte) {
		cipher := int(sel%3) + 2 // 2, 3 or 4
		m, id := MappingECDHIM, 13
		if sel&4 != 0 {
			m, id = MappingDHIM, 0
		}
		info := Info{Protocol: Protocol(m, cipher), Version: 2, ParamID: id}
		alg, _ := info.Alg()
		chip := &Chip{Info: info, Password: []byte("123456")}
		if _, err := chip.Nonce(); err != nil {
			t.Fatal(err)
		}
		if _, err := chip.Map(b); err == nil && len(b) != alg.KeyLen() {
			t.Fatalf("%v: t of %d bytes accepted", alg, len(b))
		}
	})
}
