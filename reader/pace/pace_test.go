package pace

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"enrolldesk/reader/bac"
	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/tlv"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// ICAO Doc 9303 part 11 (eighth edition, 2021), appendix G.1 "ECDH based example" of PACE with the
// generic mapping on brainpoolP256r1 and AES-128. Every literal below is copied from it.
var (
	g1CardAccess = h("31143012060A04007F0007020204020202010202010D")
	g1Key        = bac.Key{DocumentNumber: "T22000129", DateOfBirth: "640812", DateOfExpiry: "101031"}
	g1MRZInfo    = "T22000129364081251010318"
	g1MRZHash    = h("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
	g1Kpi        = h("89DED1B26624EC1E634C1989302849DD")
	g1Z          = h("95A3A016522EE98D01E76CB6B98B42C3")
	g1S          = h("3F00C4D39D153F2B2A214A078D899B22")
	g1SKMapPCD   = h("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99")
	g1PKMapPCD   = h("04 7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E 544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D")
	g1SKMapPICC  = h("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560")
	g1PKMapPICC  = h("04 824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57 30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54")
	g1H          = h("04 60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5 0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181")
	g1GHat       = h("04 8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2 8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522")
	g1SKPCD      = h("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595")
	g1PKPCD      = h("04 2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C 3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462")
	g1SKPICC     = h("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A")
	g1PKPICC     = h("04 9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB 7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094")
	g1K          = h("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
	g1KSenc      = h("F5F0E35C0D7161EE6724EE513A0D9A7F")
	g1KSmac      = h("FE251C7858B356B24514B3BD5F4297D1")
	g1TPCD       = h("C2B0BD78D94BA866")
	g1TPICC      = h("3ABB9674BCE93C08")
	// The APDUs of the example.
	g1APDUs = [][2]string{
		{"0022C1A412800A04007F0007020204020283010184010D", "9000"},
		{"10860000027C0000", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"},
		{"10860000457C43814104" + "7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00",
			"7C43824104" + "824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000"},
		{"10860000457C43834104" + "2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200",
			"7C43844104" + "9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000"},
		{"008600000C7C0A8508C2B0BD78D94BA86600", "7C0A86083ABB9674BCE93C089000"},
	}
)

func TestAppendixG1Primitives(t *testing.T) {
	c := BrainpoolP256r1
	info, err := g1Key.MRZInformation()
	if err != nil || info != g1MRZInfo {
		t.Fatalf("MRZ information %q %v", info, err)
	}
	pw, _ := MRZPassword(g1Key)
	if !bytes.Equal(pw, g1MRZHash) {
		t.Fatalf("K %X", pw)
	}
	if k := sm.KDF(sm.AES128, pw, sm.KDFPI); !bytes.Equal(k, g1Kpi) {
		t.Fatalf("Kπ %X", k)
	}
	sk := new(big.Int).SetBytes(g1SKMapPCD)
	if got := c.Marshal(c.ScalarMult(sk, c.G())); !bytes.Equal(got, g1PKMapPCD) {
		t.Fatalf("PK_PCD,map %X", got)
	}
	if got := c.Marshal(c.ScalarMult(new(big.Int).SetBytes(g1SKMapPICC), c.G())); !bytes.Equal(got, g1PKMapPICC) {
		t.Fatalf("PK_PICC,map %X", got)
	}
	peer, err := c.Unmarshal(g1PKMapPICC)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Marshal(c.ScalarMult(sk, peer)); !bytes.Equal(got, g1H) {
		t.Fatalf("H %X", got)
	}
	gHat, err := mapGenerator(c, g1S, sk, peer)
	if err != nil || !bytes.Equal(c.Marshal(gHat), g1GHat) {
		t.Fatalf("Ĝ %X %v", c.Marshal(gHat), err)
	}
	if got := c.Marshal(c.ScalarMult(new(big.Int).SetBytes(g1SKPCD), gHat)); !bytes.Equal(got, g1PKPCD) {
		t.Fatalf("PK_PCD %X", got)
	}
	chipPK, _ := c.Unmarshal(g1PKPICC)
	k := c.ScalarMult(new(big.Int).SetBytes(g1SKPCD), chipPK)
	if kx := k.X.FillBytes(make([]byte, 32)); !bytes.Equal(kx, g1K) {
		t.Fatalf("K %X", kx)
	}
	if e, m := sm.KDF(sm.AES128, g1K, sm.KDFEnc), sm.KDF(sm.AES128, g1K, sm.KDFMac); !bytes.Equal(e, g1KSenc) || !bytes.Equal(m, g1KSmac) {
		t.Fatalf("KSenc %X KSmac %X", e, m)
	}
	infos, err := ParseCardAccess(g1CardAccess)
	if err != nil || len(infos) != 1 || infos[0].ParamID != 13 || infos[0].Version != 2 {
		t.Fatalf("%+v %v", infos, err)
	}
	if tk, _ := token(sm.AES128, g1KSmac, infos[0].Protocol, 0x86, g1PKPICC); !bytes.Equal(tk, g1TPCD) {
		t.Fatalf("T_PCD %X", tk)
	}
	if tk, _ := token(sm.AES128, g1KSmac, infos[0].Protocol, 0x86, g1PKPCD); !bytes.Equal(tk, g1TPICC) {
		t.Fatalf("T_PICC %X", tk)
	}
	if b, _ := CardAccessBytes(infos[0]); !bytes.Equal(b, g1CardAccess) {
		t.Fatalf("EF.CardAccess %X", b)
	}
}

// TestAppendixG1Exchange replays the example's APDUs: the terminal, given the example's private
// keys, must send exactly the example's commands; the chip, given its keys and nonce, must answer
// exactly the example's responses.
func TestAppendixG1Exchange(t *testing.T) {
	infos, _ := ParseCardAccess(g1CardAccess)
	pw, _ := MRZPassword(g1Key)
	step := 0
	script := iso7816.TransmitFunc(func(_ context.Context, apdu []byte) ([]byte, error) {
		if step >= len(g1APDUs) || !bytes.Equal(apdu, h(g1APDUs[step][0])) {
			t.Fatalf("step %d: sent %X", step, apdu)
		}
		step++
		return h(g1APDUs[step-1][1]), nil
	})
	sess, idPICC, err := Authenticate(context.Background(), script, infos[0], PasswordMRZ, pw, bytes.NewReader(append(append([]byte(nil), g1SKMapPCD...), g1SKPCD...)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(idPICC, g1PKPICC[1:33]) {
		t.Fatalf("ID_PICC %X", idPICC)
	}
	if sess.Alg() != sm.AES128 || !bytes.Equal(sess.SSC(), make([]byte, 16)) {
		t.Fatalf("session %v %X", sess.Alg(), sess.SSC())
	}
	chip := &Chip{Info: infos[0], Password: pw, Rand: bytes.NewReader(bytes.Join([][]byte{g1S, g1SKMapPICC, g1SKPICC}, nil))}
	z, err := chip.Nonce()
	if err != nil || !bytes.Equal(z, g1Z) {
		t.Fatalf("z %X %v", z, err)
	}
	if pk, err := chip.Map(g1PKMapPCD); err != nil || !bytes.Equal(pk, g1PKMapPICC) {
		t.Fatalf("chip map %X %v", pk, err)
	}
	if pk, err := chip.Agree(g1PKPCD); err != nil || !bytes.Equal(pk, g1PKPICC) {
		t.Fatalf("chip agree %X %v", pk, err)
	}
	tk, _, err := chip.Mutual(g1TPCD)
	if err != nil || !bytes.Equal(tk, g1TPICC) {
		t.Fatalf("chip token %X %v", tk, err)
	}
	// A wrong token is refused.
	chip2 := &Chip{Info: infos[0], Password: pw, Rand: bytes.NewReader(bytes.Join([][]byte{g1S, g1SKMapPICC, g1SKPICC}, nil))}
	_, _ = chip2.Nonce()
	_, _ = chip2.Map(g1PKMapPCD)
	_, _ = chip2.Agree(g1PKPCD)
	if _, _, err := chip2.Mutual(g1TPICC); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestP256AgainstCryptoECDH anchors the generic arithmetic on P-256 to the standard library.
func TestP256AgainstCryptoECDH(t *testing.T) {
	for i := 0; i < 5; i++ {
		a, _ := ecdh.P256().GenerateKey(rand.Reader)
		b, _ := ecdh.P256().GenerateKey(rand.Reader)
		c := P256
		ka := new(big.Int).SetBytes(a.Bytes())
		if got := c.Marshal(c.ScalarMult(ka, c.G())); !bytes.Equal(got, a.PublicKey().Bytes()) {
			t.Fatalf("public key differs")
		}
		pb, err := c.Unmarshal(b.PublicKey().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := a.ECDH(b.PublicKey())
		if got := c.ScalarMult(ka, pb).X.FillBytes(make([]byte, 32)); !bytes.Equal(got, want) {
			t.Fatalf("shared secret differs")
		}
	}
	if _, err := P256.Unmarshal(append([]byte{4}, make([]byte, 64)...)); err == nil {
		t.Fatal("point off the curve accepted")
	}
}

// TestRoundTrip runs terminal against chip with random keys on both curves, with MRZ and CAN.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct{ id, cipher int }{{12, 2}, {13, 2}, {13, 4}, {12, 1}, {13, 3}} {
		id := c.id
		info := Info{Protocol: []int{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, c.cipher}, Version: 2, ParamID: id}
		for _, pw := range [][]byte{[]byte("123456"), g1MRZHash} {
			chip := &Chip{Info: info, Password: []byte("123456")}
			card := chipTransmitter(t, chip)
			_, _, err := Authenticate(context.Background(), card, info, PasswordCAN, pw, nil)
			if string(pw) == "123456" && err != nil {
				t.Fatalf("curve %d: %v", id, err)
			}
			if string(pw) != "123456" && !errors.Is(err, ErrAuth) {
				t.Fatalf("curve %d wrong password: %v", id, err)
			}
		}
	}
}

func chipTransmitter(t *testing.T, chip *Chip) iso7816.Transmitter {
	return iso7816.TransmitFunc(func(_ context.Context, apdu []byte) ([]byte, error) {
		c, err := iso7816.ParseCommand(apdu)
		if err != nil {
			return nil, err
		}
		if c.INS == 0x22 {
			return h("9000"), nil
		}
		in, _ := ParseDynAuth(c.Data)
		var tag uint32
		var out []byte
		switch {
		case in.Tag == 0:
			tag = 0x80
			out, err = chip.Nonce()
		case in.Tag == 0x81:
			tag = 0x82
			out, err = chip.Map(in.Value)
		case in.Tag == 0x83:
			tag = 0x84
			out, err = chip.Agree(in.Value)
		case in.Tag == 0x85:
			tag = 0x86
			if out, _, err = chip.Mutual(in.Value); err == nil && chip.Info.CAM() {
				a, err := chip.CAMData()
				if err != nil {
					return nil, err
				}
				return append(tlv.Encode(0x7C, tlv.Concat(tlv.Encode(0x86, out), tlv.Encode(0x8A, a))), 0x90, 0x00), nil
			}
		}
		if err != nil {
			return h("6300"), nil
		}
		return append(DynAuth(tag, out), 0x90, 0x00), nil
	})
}

func BenchmarkScalarMultBrainpool(b *testing.B) {
	k := new(big.Int).SetBytes(g1SKPCD)
	for i := 0; i < b.N; i++ {
		BrainpoolP256r1.ScalarMult(k, BrainpoolP256r1.G())
	}
}

func FuzzParseCardAccess(f *testing.F) {
	f.Add(g1CardAccess)
	for _, i := range []Info{{Protocol: Protocol(MappingDHGM, 2), Version: 2, ParamID: 0}, {Protocol: Protocol(MappingECDHIM, 2), Version: 2, ParamID: 13}} {
		b, err := CardAccessBytes(i)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, err := ParseCardAccess(b)
		if err != nil {
			return
		}
		for _, i := range infos {
			if _, err := i.Alg(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzParseDynAuth(f *testing.F) {
	f.Add(h("7C12801095A3A016522EE98D01E76CB6B98B42C3"))
	f.Add(h("7C00"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseDynAuth(b) })
}

// FuzzChipMap feeds arbitrary mapping keys to the chip side: invalid points must be refused.
func FuzzChipMap(f *testing.F) {
	f.Add(g1PKMapPCD)
	f.Fuzz(func(t *testing.T, b []byte) {
		infos, _ := ParseCardAccess(g1CardAccess)
		chip := &Chip{Info: infos[0], Password: g1MRZHash}
		if _, err := chip.Nonce(); err != nil {
			t.Fatal(err)
		}
		_, _ = chip.Map(b)
	})
}
