package ca

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"

	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
)

func brainpoolSPKI(t *testing.T, pub []byte) []byte {
	t.Helper()
	params, _ := asn1.Marshal(oidBrainpoolP256r1)
	var k spki
	k.Algorithm.Algorithm = oidECPublicKey
	k.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	k.PublicKey = asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}
	b, err := asn1.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTripBothCurves(t *testing.T) {
	// P-256 key marshalled by crypto/x509, brainpoolP256r1 by hand.
	pk256, _ := ecdh.P256().GenerateKey(rand.Reader)
	der256, _ := x509.MarshalPKIXPublicKey(pk256.PublicKey())
	bpSK := big.NewInt(0).SetBytes(bytes.Repeat([]byte{0x5A}, 32))
	c := pace.BrainpoolP256r1
	derBP := brainpoolSPKI(t, c.Marshal(c.ScalarMult(bpSK, c.G())))
	for _, tc := range []struct {
		der    []byte
		curve  *pace.Curve
		static *big.Int
	}{{der256, pace.P256, new(big.Int).SetBytes(pk256.Bytes())}, {derBP, pace.BrainpoolP256r1, bpSK}} {
		curve, _, err := ParseECKey(tc.der)
		if err != nil || curve != tc.curve {
			t.Fatalf("%v %v", curve, err)
		}
		var chip *sm.Session
		tr := iso7816.TransmitFunc(func(_ context.Context, apdu []byte) ([]byte, error) {
			cmd, _ := iso7816.ParseCommand(apdu)
			if cmd.INS == 0x86 {
				in, err := pace.ParseDynAuth(cmd.Data)
				if err != nil {
					return nil, err
				}
				if chip, err = ChipRespond(tc.curve, tc.static, sm.AES128, in.Value); err != nil {
					return nil, err
				}
				return []byte{0x7C, 0x00, 0x90, 0x00}, nil
			}
			return []byte{0x90, 0x00}, nil
		})
		dg14 := &lds.SecurityDG14{CAKeys: []lds.ChipAuthKey{{Protocol: lds.OIDPKECDH, SPKI: tc.der}}}
		term, comp, err := Authenticate(context.Background(), tr, dg14, nil)
		if err != nil || len(comp) != 32 {
			t.Fatal(err)
		}
		// Both sides now share keys: a wrapped command unwraps on the chip.
		raw, _ := term.Wrap(iso7816.Command{INS: 0xB0, Ne: 4})
		if _, err := chip.UnwrapCommand(raw); err != nil {
			t.Fatalf("%s: sessions differ: %v", tc.curve.Name, err)
		}
	}
	if _, _, err := ParseECKey([]byte{0x30, 0x00}); err == nil {
		t.Fatal("empty SPKI accepted")
	}
}

func FuzzParseECKey(f *testing.F) {
	pk, _ := ecdh.P256().GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pk.PublicKey())
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = ParseECKey(b) })
}

// TestMarshalECKey: the SPKI written for both curves is what ParseECKey and, for P-256,
// crypto/x509 read back.
func TestMarshalECKey(t *testing.T) {
	for _, c := range []*pace.Curve{pace.P256, pace.BrainpoolP256r1} {
		p := c.ScalarMult(big.NewInt(0x1234567), c.G())
		der, err := MarshalECKey(c, p)
		if err != nil {
			t.Fatal(err)
		}
		got, q, err := ParseECKey(der)
		if err != nil || got != c || !q.Equal(p) {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if c == pace.P256 {
			if _, err := x509.ParsePKIXPublicKey(der); err != nil {
				t.Fatalf("crypto/x509 refuses our P-256 SPKI: %v", err)
			}
		}
	}
}
