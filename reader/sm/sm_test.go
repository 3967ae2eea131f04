package sm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"enrolldesk/reader/iso7816"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Session keys and SSC after BAC in ICAO Doc 9303 part 11 appendix D.3.
func d4Session(t *testing.T) *Session {
	t.Helper()
	s, err := NewSession(TDES, h("979EC13B1CBFE9DCD01AB0FED307EAE5"), h("F1CB1F1FB5ADF208806B89DC579DC1F8"), h("887022120C06C226"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAppendixD4 replays ICAO Doc 9303 part 11 appendix D.4 "Secure messaging" byte for byte:
// SELECT EF.COM, READ BINARY of 4 bytes, READ BINARY of the remaining 18 bytes.
func TestAppendixD4(t *testing.T) {
	steps := []struct {
		cmd       iso7816.Command
		protected string
		rapdu     string
		data      string
	}{
		{iso7816.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x1E}},
			"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
			"990290008E08FA855A5D4C50A8ED9000", ""},
		{iso7816.Command{INS: 0xB0, Ne: 4},
			"0CB000000D9701048E08ED6705417E96BA5500",
			"8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", "60145F01"},
		{iso7816.Command{INS: 0xB0, P2: 4, Ne: 0x12},
			"0CB000040D9701128E082EA28A70F3C7B53500",
			"871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
			"04303130365F36063034303030305C026175"},
	}
	reader := d4Session(t)
	card := d4Session(t)
	for i, st := range steps {
		got, err := reader.Wrap(st.cmd)
		if err != nil || !bytes.Equal(got, h(st.protected)) {
			t.Fatalf("step %d: protected command %X, %v; want %s", i, got, err, st.protected)
		}
		plain, err := card.UnwrapCommand(got)
		if err != nil || plain.INS != st.cmd.INS || plain.Ne != st.cmd.Ne || !bytes.Equal(plain.Data, st.cmd.Data) {
			t.Fatalf("step %d: card unwrap %+v, %v", i, plain, err)
		}
		// The card side must produce the example's response bytes too.
		rsp, err := card.WrapResponse(iso7816.Response{Data: h(st.data), SW: 0x9000})
		if err != nil || !bytes.Equal(rsp, h(st.rapdu)) {
			t.Fatalf("step %d: card response %X, %v", i, rsp, err)
		}
		r, err := reader.Unwrap(h(st.rapdu))
		if err != nil || r.SW != 0x9000 || !bytes.Equal(r.Data, h(st.data)) {
			t.Fatalf("step %d: unwrap %X %04X, %v", i, r.Data, r.SW, err)
		}
	}
	if !bytes.Equal(reader.SSC(), h("887022120C06C22C")) {
		t.Fatalf("final SSC %X", reader.SSC())
	}
}

func TestUnwrapRejectsEveryTamperedByte(t *testing.T) {
	good := h("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000")
	for i := 0; i < len(good)-2; i++ {
		s := d4Session(t)
		for k := 0; k < 4; k++ { // bring the SSC to the third response's value
			s.incSSC()
		}
		s.incSSC()
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x20
		if _, err := s.Unwrap(bad); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
		// After a failure the session is dead.
		if _, err := s.Wrap(iso7816.Command{INS: 0xB0, Ne: 1}); !errors.Is(err, ErrClosed) {
			t.Fatalf("session alive after failure: %v", err)
		}
	}
}

func TestUnwrapPlainErrorKillsSession(t *testing.T) {
	s := d4Session(t)
	if _, err := s.Unwrap(h("6988")); !iso7816.IsStatus(err, 0x6988) {
		t.Fatalf("plain 6988: %v", err)
	}
	if _, err := s.Unwrap(h("9000")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after: %v", err)
	}
	s = d4Session(t)
	if _, err := s.Unwrap(h("9000")); !errors.Is(err, ErrMAC) {
		t.Fatalf("plain 9000: %v", err)
	}
}

// TestCMACRFC4493 checks AES-CMAC against RFC 4493 §4 examples 1-4.
func TestCMACRFC4493(t *testing.T) {
	key := h("2b7e151628aed2a6abf7158809cf4f3c")
	msg := h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, c := range []struct {
		n    int
		want string
	}{{0, "bb1d6929e95937287fa37d129b756746"}, {16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"}, {64, "51f0bebf7e3b9d92fc49741779363cfe"}} {
		got, err := CMAC(key, msg[:c.n])
		if err != nil || !bytes.Equal(got, h(c.want)) {
			t.Errorf("CMAC len %d = %x, %v", c.n, got, err)
		}
	}
}

func TestExtendedRoundTrip(t *testing.T) {
	for _, alg := range []Alg{TDES, AES128, AES256} {
		k := bytes.Repeat([]byte{7}, alg.KeyLen())
		ssc := make([]byte, 8)
		if alg != TDES {
			ssc = make([]byte, 16)
		}
		r, _ := NewSession(alg, k, k, ssc)
		c, _ := NewSession(alg, k, k, ssc)
		cmd := iso7816.Command{INS: 0xB0, P1: 0x82, Ne: 60000}
		raw, err := r.Wrap(cmd)
		if err != nil {
			t.Fatal(err)
		}
		if raw[4] != 0 {
			t.Fatalf("%v: not extended: %X", alg, raw)
		}
		got, err := c.UnwrapCommand(raw)
		if err != nil || got.Ne != 60000 || got.P1 != 0x82 {
			t.Fatalf("%v: %+v %v", alg, got, err)
		}
		data := bytes.Repeat([]byte{0xAB}, 60000)
		rsp, err := c.WrapResponse(iso7816.Response{Data: data, SW: 0x9000})
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.Unwrap(rsp)
		if err != nil || !bytes.Equal(out.Data, data) {
			t.Fatalf("%v: unwrap %v", alg, err)
		}
	}
}
