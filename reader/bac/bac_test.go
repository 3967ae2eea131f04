package bac

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/sm"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// Literals of ICAO Doc 9303 part 11 (eighth edition, 2021), appendix D "Worked example: Basic
// Access Control", D.2 (key derivation) and D.3 (authentication and establishment of session keys).
var (
	d2Key     = Key{DocumentNumber: "L898902C", DateOfBirth: "690806", DateOfExpiry: "940623"}
	d2MRZInfo = "L898902C<369080619406236"
	d2Kseed   = h("239AB9CB282DAF66231DC5A4DF6BFBAE")
	d2Kenc    = h("AB94FDECF2674FDFB9B391F85D7F76F2")
	d2Kmac    = h("7962D9ECE03D1ACD4C76089DCE131543")
	d3RndIC   = h("4608F91988702212")
	d3RndIFD  = h("781723860C06C226")
	d3KIFD    = h("0B795240CB7049B01C19B33E32804F0B")
	d3CmdData = h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7")
	d3Resp    = h("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")
	d3KIC     = h("0B4F80323EB3191CB04970CB4052790B")
	d3KSenc   = h("979EC13B1CBFE9DCD01AB0FED307EAE5")
	d3KSmac   = h("F1CB1F1FB5ADF208806B89DC579DC1F8")
	d3SSC     = h("887022120C06C226")
)

func TestAppendixD2KeyDerivation(t *testing.T) {
	info, err := d2Key.MRZInformation()
	if err != nil || info != d2MRZInfo {
		t.Fatalf("MRZ information %q, %v; want %q", info, err, d2MRZInfo)
	}
	seed, err := d2Key.Seed()
	if err != nil || !bytes.Equal(seed, d2Kseed) {
		t.Fatalf("Kseed %X, %v", seed, err)
	}
	kenc, kmac, err := d2Key.Keys()
	if err != nil || !bytes.Equal(kenc, d2Kenc) || !bytes.Equal(kmac, d2Kmac) {
		t.Fatalf("Kenc %X Kmac %X, %v", kenc, kmac, err)
	}
}

func TestAppendixD3MutualAuthentication(t *testing.T) {
	term := &Terminal{Kenc: d2Kenc, Kmac: d2Kmac, RndIFD: d3RndIFD, KIFD: d3KIFD, RndIC: d3RndIC}
	data, err := term.AuthData()
	if err != nil || !bytes.Equal(data, d3CmdData) {
		t.Fatalf("EXTERNAL AUTHENTICATE data %X, %v", data, err)
	}
	// The card side, given the example's RND.IC and K.IC, must answer the example's bytes.
	chip := &Chip{Kenc: d2Kenc, Kmac: d2Kmac, RndIC: d3RndIC, KIC: d3KIC}
	resp, _, err := chip.Respond(data)
	if err != nil || !bytes.Equal(resp, d3Resp) {
		t.Fatalf("chip response %X, %v", resp, err)
	}
	s, err := term.Finish(d3Resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.SSC(), d3SSC) {
		t.Fatalf("SSC %X", s.SSC())
	}
	seed := make([]byte, 16)
	for i := range seed {
		seed[i] = d3KIFD[i] ^ d3KIC[i]
	}
	if k := sm.KDF(sm.TDES, seed, sm.KDFEnc); !bytes.Equal(k, d3KSenc) {
		t.Fatalf("KSenc %X", k)
	}
	if k := sm.KDF(sm.TDES, seed, sm.KDFMac); !bytes.Equal(k, d3KSmac) {
		t.Fatalf("KSmac %X", k)
	}
	// The session continues into appendix D.4: its first protected command must be the example's.
	got, err := s.Wrap(iso7816.Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}})
	if err != nil || !bytes.Equal(got, h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")) {
		t.Fatalf("protected SELECT %X, %v", got, err)
	}
}

func TestFinishRejectsTamperedResponse(t *testing.T) {
	for i := range d3Resp {
		bad := append([]byte(nil), d3Resp...)
		bad[i] ^= 0x01
		term := &Terminal{Kenc: d2Kenc, Kmac: d2Kmac, RndIFD: d3RndIFD, KIFD: d3KIFD, RndIC: d3RndIC}
		if _, err := term.Finish(bad); !errors.Is(err, ErrAuth) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	term := &Terminal{Kenc: d2Kenc, Kmac: d2Kmac, RndIFD: d3RndIFD, KIFD: d3KIFD, RndIC: d3RndIC}
	if _, err := term.Finish(d3Resp[:39]); !errors.Is(err, ErrAuth) {
		t.Fatalf("short response: %v", err)
	}
}

func TestCheckDigit(t *testing.T) {
	// ICAO Doc 9303 part 3 §4.9 example: "520727" has check digit 3; the specimen's "L898902C<"
	// has 3, "690806" has 1 and "940623" has 6 (part 11 appendix D.2).
	for in, want := range map[string]byte{"520727": '3', "L898902C<": '3', "690806": '1', "940623": '6'} {
		got, err := CheckDigit(in)
		if err != nil || got != want {
			t.Errorf("CheckDigit(%q) = %c, %v; want %c", in, got, err, want)
		}
	}
	if _, err := CheckDigit("ab"); err == nil {
		t.Error("lower case accepted")
	}
}

// TestAuthenticateRoundTrip runs the whole command exchange against the chip side over a
// Transmitter, with a wrong key first.
func TestAuthenticateRoundTrip(t *testing.T) {
	kenc, kmac, _ := d2Key.Keys()
	chip := &Chip{Kenc: kenc, Kmac: kmac, KIC: d3KIC}
	var cardSess *sm.Session
	tr := iso7816.TransmitFunc(func(_ context.Context, apdu []byte) ([]byte, error) {
		c, err := iso7816.ParseCommand(apdu)
		if err != nil {
			return nil, err
		}
		switch c.INS {
		case 0x84:
			chip.RndIC = d3RndIC
			return append(append([]byte(nil), d3RndIC...), 0x90, 0x00), nil
		case 0x82:
			resp, s, err := chip.Respond(c.Data)
			if err != nil {
				return []byte{0x69, 0x82}, nil
			}
			cardSess = s
			return append(resp, 0x90, 0x00), nil
		}
		return []byte{0x6D, 0x00}, nil
	})
	wrong := d2Key
	wrong.DateOfBirth = "690807"
	if _, err := Authenticate(context.Background(), tr, wrong, nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong key: %v", err)
	}
	s, err := Authenticate(context.Background(), tr, d2Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.SSC(), cardSess.SSC()) {
		t.Fatal("SSC differs between sides")
	}
}

func FuzzFinish(f *testing.F) {
	f.Add(d3Resp)
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		term := &Terminal{Kenc: d2Kenc, Kmac: d2Kmac, RndIFD: d3RndIFD, KIFD: d3KIFD, RndIC: d3RndIC}
		if _, err := term.Finish(b); err == nil && !bytes.Equal(b, d3Resp) {
			t.Fatalf("forged response %X accepted", b)
		}
	})
}
