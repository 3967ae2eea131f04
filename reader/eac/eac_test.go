package eac

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func TestCertRoundTripAndChip(t *testing.T) {
	now := time.Now()
	ck, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ik, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cvca, err := Issue("VNCVCA00001", "VNCVCA00001", &ck.PublicKey, RoleCVCA|RightDG3, now.AddDate(0, -1, 0), now.AddDate(2, 0, 0), ck)
	if err != nil {
		t.Fatal(err)
	}
	dv, _ := Issue(cvca.CHR, "VNDV0000001", &dk.PublicKey, RoleDVDomest|RightDG3, now.AddDate(0, 0, -3), now.AddDate(0, 3, 0), ck)
	is, _ := Issue(dv.CHR, "VNIS0000001", &ik.PublicKey, RoleIS|RightDG3, now.AddDate(0, 0, -1), now.AddDate(0, 0, 30), dk)
	back, err := Parse(is.Raw())
	if err != nil || back.CAR != dv.CHR || back.CHR != "VNIS0000001" || back.Role != RoleIS|RightDG3 || !bytes.Equal(back.PublicKey, is.PublicKey) ||
		back.Expiry.Format("060102") != now.AddDate(0, 0, 30).UTC().Format("060102") {
		t.Fatalf("%+v %v", back, err)
	}
	chip := &Chip{CVCA: cvca, Date: cvca.Effective}
	if err := chip.SetDST(cvca.CHR); err != nil {
		t.Fatal(err)
	}
	// A tampered DV certificate is refused.
	bad := append([]byte(nil), dv.Body...)
	bad[len(bad)-1] ^= 1
	if err := chip.VerifyCert(append(bad, (&Cert{Signature: dv.Signature}).Raw()[4:]...)); err == nil {
		t.Fatal("tampered certificate accepted")
	}
	for _, c := range []*Cert{dv, is} {
		if err := chip.SetDST(c.CAR); err != nil {
			t.Fatal(err)
		}
		if err := chip.VerifyCert(c.Raw()); err != nil {
			t.Fatalf("%s: %v", c.CHR, err)
		}
	}
	if err := chip.SetAT(is.CHR); err != nil {
		t.Fatal(err)
	}
	r := chip.Challenge()
	id, eph := []byte("0990123456"), bytes.Repeat([]byte{7}, 32)
	wrong, _ := sign(ik, append(append(append([]byte(nil), id...), r...), bytes.Repeat([]byte{8}, 32)...))
	if err := chip.ExternalAuthenticate(wrong, id, eph); !errors.Is(err, ErrTA) {
		t.Fatalf("signature over another key accepted: %v", err)
	}
	r = chip.Challenge()
	sig, _ := sign(ik, append(append(append([]byte(nil), id...), r...), eph...))
	if err := chip.ExternalAuthenticate(sig, id, eph); err != nil || chip.Granted()&RightDG3 == 0 {
		t.Fatalf("%v granted %02X", err, chip.Granted())
	}
}

func FuzzParse(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, _ := Issue("A", "B", &k.PublicKey, RoleIS, time.Now(), time.Now().AddDate(1, 0, 0), k)
	f.Add(c.Raw())
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := Parse(b); err == nil {
			_ = Verify(c.PublicKey, c.Body, c.Signature)
		}
	})
}

func TestTerminalFolder(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dv, _ := Issue("VNCVCA00001", "VNDV0000001", &k.PublicKey, RoleDVDomest|RightDG3, time.Now(), time.Now().AddDate(0, 1, 0), k)
	is, _ := Issue("VNDV0000001", "VNIS0000001", &k.PublicKey, RoleIS|RightDG3, time.Now(), time.Now().AddDate(0, 1, 0), k)
	dir := t.TempDir()
	if err := SaveTerminal(dir, &Terminal{Chain: []*Cert{dv, is}, Key: k}); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTerminal(dir)
	if err != nil || got.Chain[1].CHR != "VNIS0000001" || !got.Key.Equal(k) {
		t.Fatalf("%v", err)
	}
	if _, err := LoadTerminal(t.TempDir()); err == nil {
		t.Fatal("empty folder accepted")
	}
}
