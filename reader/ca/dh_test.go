package ca

import (
	"math/big"
	"testing"

	"enrolldesk/reader/pace"
)

// TestDHKey: a DG14 DH key round-trips; keys outside the order-q subgroup, generators of the wrong
// order and small moduli are refused.
func TestDHKey(t *testing.T) {
	g := pace.DH2048_224
	y := new(big.Int).Exp(g.G, big.NewInt(123456789), g.P)
	der, err := MarshalDHKey(g, y)
	if err != nil {
		t.Fatal(err)
	}
	pg, py, err := ParseDHKey(der)
	if err != nil || pg.P.Cmp(g.P) != 0 || pg.Q.Cmp(g.Q) != 0 || py.Cmp(y) != 0 {
		t.Fatalf("round trip: %v", err)
	}
	pm1 := new(big.Int).Sub(g.P, big.NewInt(1))
	for name, k := range map[string]struct {
		g *pace.DHGroup
		y *big.Int
	}{
		"y = 1":          {g, big.NewInt(1)},
		"y = p-1":        {g, pm1},
		"y of order 2q":  {g, new(big.Int).Sub(g.P, y)},
		"g not of order": {&pace.DHGroup{P: g.P, G: big.NewInt(2), Q: g.Q}, y},
		"small modulus":  {&pace.DHGroup{P: big.NewInt(23), G: big.NewInt(4), Q: big.NewInt(11)}, big.NewInt(2)},
	} {
		der, err := MarshalDHKey(k.g, k.y)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ParseDHKey(der); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	// The chip side refuses terminal keys outside the subgroup too.
	if _, _, err := ChipRespondDH(g, big.NewInt(5), 2, pm1.Bytes()); err == nil {
		t.Fatal("terminal key p-1 accepted")
	}
}

func FuzzParseDHKey(f *testing.F) {
	g := pace.DH1024_160
	der, err := MarshalDHKey(g, new(big.Int).Exp(g.G, big.NewInt(7), g.P))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		g, y, err := ParseDHKey(b)
		if err == nil && (g == nil || y == nil || new(big.Int).Exp(y, g.Q, g.P).Cmp(big.NewInt(1)) != 0) {
			t.Fatal("accepted a key outside its subgroup")
		}
	})
}
