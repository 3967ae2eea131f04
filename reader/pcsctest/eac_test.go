package pcsctest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/vcard"
)

// TestTerminalAuthenticationDG3ThroughPCSC: PACE, chip authentication, terminal authentication
// with a CVCA → DV → inspection system chain, then DG3 (an FVC2002 finger) through pcscd.
func TestTerminalAuthenticationDG3ThroughPCSC(t *testing.T) {
	pki, base, store := fixture(t)
	citizen := *base
	_, file, _, _ := runtime.Caller(0)
	finger, err := vcard.LoadFingerTIFF(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", "102_3.tif"), 1)
	if err != nil {
		t.Fatal(err)
	}
	citizen.Fingers = []lds.Finger{finger}
	now := time.Now()
	ck, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ik, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cvca, err := eac.Issue("VNCVCA00001", "VNCVCA00001", &ck.PublicKey, eac.RoleCVCA|eac.RightDG3, now.AddDate(0, -1, 0), now.AddDate(3, 0, 0), ck)
	if err != nil {
		t.Fatal(err)
	}
	dv, _ := eac.Issue(cvca.CHR, "VNDVPOLICE1", &dk.PublicKey, eac.RoleDVDomest|eac.RightDG3, now.AddDate(0, 0, -7), now.AddDate(0, 3, 0), ck)
	is, _ := eac.Issue(dv.CHR, "VNDESK00001", &ik.PublicKey, eac.RoleIS|eac.RightDG3, now.AddDate(0, 0, -1), now.AddDate(0, 0, 30), dk)
	card, err := vcard.Personalise(&citizen, pki, vcard.Options{PACEParamID: 13, CVCA: cvca})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	atr, _ := in.Conn.ATR()
	data, v, err := reader.Read(context.Background(), in.Conn, reader.CANKey(citizen.CAN), reader.Options{
		ATR: atr, TrustStore: store, Terminal: &eac.Terminal{Chain: []*eac.Cert{dv, is}, Key: ik}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckTerminalAuth); c.Status != pa.Passed || !v.Genuine() || len(data.Fingers) != 1 {
		t.Fatalf("%+v", v.Checks)
	}
	img, err := data.Fingers[0].Decode()
	if err != nil || img.Bounds().Dx() != 388 {
		t.Fatalf("finger: %v", err)
	}
}
