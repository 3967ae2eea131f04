package pcsctest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"enrolldesk/reader"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/vcard"
)

// TestNewPACESuitesThroughPCSC: the integrated mapping with AES-192 and AES-256 (ECDH and DH) and
// PACE-CAM with AES-128/192/256, each read whole through pcscd with the CAN; with PACE-CAM the
// verdict says chip authentication ran through PACE.
func TestNewPACESuitesThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	for _, c := range []struct{ mapping, cipher, id int }{
		{pace.MappingECDHIM, 3, 13}, {pace.MappingECDHIM, 4, 12}, {pace.MappingDHIM, 3, 0}, {pace.MappingDHIM, 4, 2},
		{pace.MappingECDHCAM, 2, 13}, {pace.MappingECDHCAM, 3, 12}, {pace.MappingECDHCAM, 4, 13},
	} {
		card, err := vcard.Personalise(citizen, pki, vcard.Options{PACEParamID: c.id, PACEProtocol: pace.Protocol(c.mapping, c.cipher)})
		if err != nil {
			t.Fatal(err)
		}
		in := insert(t, card)
		atr, _ := in.Conn.ATR()
		data, v, err := reader.Read(context.Background(), in.Conn, reader.CANKey(citizen.CAN), reader.Options{ATR: atr, TrustStore: store})
		if err != nil {
			t.Fatalf("%v on %d: %v", pace.Protocol(c.mapping, c.cipher), c.id, err)
		}
		want := map[int]sm.Alg{2: sm.AES128, 3: sm.AES192, 4: sm.AES256}[c.cipher]
		ac, _ := v.Get(pa.CheckAccessControl)
		ch, _ := v.Get(pa.CheckChipAuth)
		cam := c.mapping == pace.MappingECDHCAM
		if !v.Genuine() || !data.Extended || !strings.Contains(ac.Reason, want.String()+" secure messaging") || data.VN.IDNumber != citizen.IDNumber {
			t.Fatalf("%s: %+v", ac.Reason, v.Checks)
		}
		if ch.Status != pa.Passed || cam != (v.ChipAuthMethod == pa.ChipAuthPACECAM) || cam != strings.HasPrefix(ch.Reason, "PACE-CAM") {
			t.Fatalf("%s: chip authentication %+v via %q", ac.Reason, ch, v.ChipAuthMethod)
		}
		t.Logf("%s; %s; %d APDUs", ac.Reason, v.ChipAuthMethod, data.APDUs)
		in.close()
	}
}

// TestPACECAMMismatchThroughPCSC: a PACE-CAM chip whose chip authentication data does not come
// from its DG14 key is refused through pcscd, with the reason and no data.
func TestPACECAMMismatchThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{PACEParamID: 13, PACEProtocol: pace.Protocol(pace.MappingECDHCAM, 2), CAMLie: true})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	data, v, err := reader.Read(context.Background(), in.Conn, reader.CANKey(citizen.CAN), reader.Options{TrustStore: store})
	if !errors.Is(err, reader.ErrChipAuth) || !errors.Is(err, pace.ErrCAM) || data != nil || v != nil {
		t.Fatalf("lying PACE-CAM chip: %v", err)
	}
	t.Logf("refused: %v", err)
}

// BenchmarkChipReadPACECAM is BenchmarkChipReadPACE with PACE-CAM (brainpoolP256r1, AES-128):
// chip authentication rides on PACE, so the separate MSE:Set AT and GENERAL AUTHENTICATE of chip
// authentication are gone.
func BenchmarkChipReadPACECAM(b *testing.B) {
	pki, citizen, store := fixture(b)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{PACEParamID: 13, PACEProtocol: pace.Protocol(pace.MappingECDHCAM, 2)})
	if err != nil {
		b.Fatal(err)
	}
	in := insert(b, card)
	var apdus int
	for i := 0; i < b.N; i++ {
		if err := in.Conn.Reset(); err != nil {
			b.Fatal(err)
		}
		data, v, err := reader.Read(context.Background(), in.Conn, reader.CANKey(citizen.CAN), reader.Options{Mode: reader.Extended, DataGroups: benchDGs, TrustStore: store})
		if err != nil || !v.PassiveOK() || v.ChipAuthMethod != pa.ChipAuthPACECAM {
			b.Fatal(err)
		}
		apdus = data.APDUs
	}
	b.ReportMetric(float64(apdus), "APDUs/op")
}
