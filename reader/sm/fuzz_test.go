package sm

import "testing"

// FuzzUnwrap feeds arbitrary responses to the reader side of secure messaging: no panic, and
// nothing but the appendix D response verifies.
func FuzzUnwrap(f *testing.F) {
	f.Add(h("990290008E08FA855A5D4C50A8ED9000"))
	f.Add(h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
	f.Add(h("6988"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := NewSession(TDES, h("979EC13B1CBFE9DCD01AB0FED307EAE5"), h("F1CB1F1FB5ADF208806B89DC579DC1F8"), h("887022120C06C227"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Unwrap(b)
		if err == nil && string(b) != string(h("990290008E08FA855A5D4C50A8ED9000")) {
			t.Fatalf("forged response %X accepted as %+v", b, r)
		}
	})
}

// FuzzUnwrapCommand feeds arbitrary commands to the card side.
func FuzzUnwrapCommand(f *testing.F) {
	f.Add(h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"))
	f.Add(h("0CB000000D9701048E08ED6705417E96BA5500"))
	f.Add(h("0CB0000000000D9701048E08ED6705417E96BA550000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := NewSession(TDES, h("979EC13B1CBFE9DCD01AB0FED307EAE5"), h("F1CB1F1FB5ADF208806B89DC579DC1F8"), h("887022120C06C226"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.UnwrapCommand(b)
	})
}
