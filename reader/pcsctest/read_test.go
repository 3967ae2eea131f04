package pcsctest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/iso7816"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/vcard"
)

func TestBACFullReadThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	atr, err := in.Conn.ATR()
	if err != nil {
		t.Fatal(err)
	}
	info, err := iso7816.ParseATR(atr)
	if err != nil || !info.ExtendedLength {
		t.Fatalf("ATR %X: %+v %v", atr, info, err)
	}
	start := time.Now()
	data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{ATR: atr, TrustStore: store})
	if err != nil {
		t.Fatal(err)
	}
	if !data.Extended || !v.Genuine() {
		t.Fatalf("extended %v verdict %+v", data.Extended, v.Checks)
	}
	if data.VN.PlaceOfResidence != citizen.VN.PlaceOfResidence {
		t.Fatalf("DG13 %+v", data.VN)
	}
	if c, _ := v.Get(pa.CheckActiveAuth); c.Status != pa.Passed {
		t.Fatalf("AA %+v", c)
	}
	if c, _ := v.Get(pa.CheckChipAuth); c.Status != pa.Passed {
		t.Fatalf("CA %+v", c)
	}
	t.Logf("read through pcscd in %v, %d APDUs", time.Since(start), data.APDUs)
}

// benchDGs are the data groups of DESIGN.md's BenchmarkChipRead: DG1, DG2, DG13, DG14 (with EF.COM
// and EF.SOD always read).
var benchDGs = []int{1, 2, 13, 14}

// readOnce is one benchmark op: warm reset of the card (dropping the chip session), then the full
// read with passive authentication.
func readOnce(tb testing.TB, in *inserted, mode reader.Mode) *reader.ChipData {
	if err := in.Conn.Reset(); err != nil {
		tb.Fatal(err)
	}
	_, citizen, store := fixture(tb)
	data, v, err := reader.Read(context.Background(), in.Conn, reader.MRZKey(citizen.AccessKey()), reader.Options{Mode: mode, DataGroups: benchDGs, TrustStore: store})
	if err != nil {
		tb.Fatal(err)
	}
	if !v.PassiveOK() {
		tb.Fatalf("verdict %+v", v.Checks)
	}
	return data
}

func TestExtendedNeedsFiveTimesFewerAPDUs(t *testing.T) {
	pki, citizen, _ := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := insert(t, card)
	ext := readOnce(t, in, reader.Extended)
	short := readOnce(t, in, reader.Short)
	if len(ext.Files[2]) < 18000 {
		t.Fatalf("DG2 of %d bytes is not ≈ 20 KB", len(ext.Files[2]))
	}
	if short.APDUs < 5*ext.APDUs {
		t.Fatalf("extended %d APDUs, short %d: less than 5× fewer", ext.APDUs, short.APDUs)
	}
	t.Logf("extended %d APDUs, short (Le 0xE0) %d APDUs", ext.APDUs, short.APDUs)
}

// BenchmarkChipRead is DESIGN.md's budget: card reset, BAC, then EF.COM, EF.SOD, DG1, DG2 (≈ 20 KB),
// DG13, DG14 with secure messaging, then passive authentication; the virtual card through pcscd
// with extended-length APDUs. It reports APDUs/op, and shortAPDUs/op from the same read in the
// short mode (Le 0xE0) that common readers use.
func BenchmarkChipRead(b *testing.B) {
	pki, citizen, _ := fixture(b)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := insert(b, card)
	short := readOnce(b, in, reader.Short)
	var apdus int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		apdus = readOnce(b, in, reader.Extended).APDUs
	}
	b.ReportMetric(float64(apdus), "APDUs/op")
	b.ReportMetric(float64(short.APDUs), "shortAPDUs/op")
	b.ReportMetric(float64(len(short.Files[2])), "DG2bytes")
}

// BenchmarkChipReadShort is the same read in short-APDU mode (Le 0xE0).
func BenchmarkChipReadShort(b *testing.B) {
	pki, citizen, _ := fixture(b)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{ShortOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	in := insert(b, card)
	var apdus int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		apdus = readOnce(b, in, reader.Short).APDUs
	}
	b.ReportMetric(float64(apdus), "APDUs/op")
}

// TestPACEThroughPCSC: PACE-MRZ and PACE-CAN on brainpoolP256r1 and P-256 through pcscd.
func TestPACEThroughPCSC(t *testing.T) {
	pki, citizen, store := fixture(t)
	for _, id := range []int{13, 12} {
		card, err := vcard.Personalise(citizen, pki, vcard.Options{PACEParamID: id})
		if err != nil {
			t.Fatal(err)
		}
		in := insert(t, card)
		for _, key := range []reader.AccessKey{reader.MRZKey(citizen.AccessKey()), reader.CANKey(citizen.CAN)} {
			if err := in.Conn.Reset(); err != nil {
				t.Fatal(err)
			}
			atr, _ := in.Conn.ATR()
			data, v, err := reader.Read(context.Background(), in.Conn, key, reader.Options{ATR: atr, TrustStore: store})
			if err != nil {
				t.Fatalf("curve %d: %v", id, err)
			}
			ac, _ := v.Get(pa.CheckAccessControl)
			if !v.Genuine() || !strings.HasPrefix(ac.Reason, "PACE-") || data.VN.IDNumber != citizen.IDNumber {
				t.Fatalf("curve %d: %+v", id, v.Checks)
			}
		}
		in.close()
	}
}

// TestPACEMappingsThroughPCSC: DH generic mapping and the integrated mappings through pcscd, with
// chip authentication after them (DG14; a DH key on the DH-GM card), and a JPEG 2000 portrait in
// DG2 read whole.
func TestPACEMappingsThroughPCSC(t *testing.T) {
	pki, sample, store := fixture(t)
	citizen := *sample
	_, file, _, _ := runtime.Caller(0)
	jp2, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "faceimg", "testdata", "face.jp2"))
	if err != nil {
		t.Fatal(err)
	}
	citizen.FaceJP2 = jp2
	for _, c := range []struct{ mapping, id int }{{pace.MappingDHGM, 0}, {pace.MappingECDHIM, 13}, {pace.MappingDHIM, 1}} {
		// The DH generic mapping card also has a DH chip authentication key.
		dh := c.mapping == pace.MappingDHGM
		card, err := vcard.Personalise(&citizen, pki, vcard.Options{PACEParamID: c.id, PACEProtocol: pace.Protocol(c.mapping, 2), CADH: dh})
		if err != nil {
			t.Fatal(err)
		}
		in := insert(t, card)
		atr, _ := in.Conn.ATR()
		data, v, err := reader.Read(context.Background(), in.Conn, reader.CANKey(citizen.CAN), reader.Options{ATR: atr, TrustStore: store})
		if err != nil {
			t.Fatalf("mapping %d on %d: %v", c.mapping, c.id, err)
		}
		ac, _ := v.Get(pa.CheckAccessControl)
		if !v.Genuine() || !strings.Contains(ac.Reason, "mapping on") || data.VN.IDNumber != citizen.IDNumber {
			t.Fatalf("mapping %d on %d: %+v", c.mapping, c.id, v.Checks)
		}
		if ch, _ := v.Get(pa.CheckChipAuth); ch.Status != pa.Passed || dh != strings.HasPrefix(ch.Reason, "DH ") {
			t.Fatalf("chip authentication: %+v", ch)
		}
		if f := data.Faces[0]; !f.IsJPEG2000() || !bytes.Equal(f.Image, jp2) || f.Width != 200 || f.Height != 250 {
			t.Fatalf("DG2 portrait: JPEG 2000 %v, %d bytes, %d×%d", f.IsJPEG2000(), len(f.Image), f.Width, f.Height)
		}
		t.Log(ac.Reason)
		in.close()
	}
}

// BenchmarkChipReadPACE is BenchmarkChipRead with PACE-CAN on brainpoolP256r1 instead of BAC.
func BenchmarkChipReadPACE(b *testing.B) {
	pki, citizen, store := fixture(b)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{PACEParamID: 13})
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
		if err != nil || !v.PassiveOK() {
			b.Fatal(err)
		}
		apdus = data.APDUs
	}
	b.ReportMetric(float64(apdus), "APDUs/op")
}

// TestSecondReadAfterClose: a read, Close, a fresh connection and a second read with the CAN work
// (Close resets the chip, so the second session does not start inside the first one's state).
func TestSecondReadAfterClose(t *testing.T) {
	pki, citizen, store := fixture(t)
	card, err := vcard.Personalise(citizen, pki, vcard.Options{PACEParamID: 13})
	if err != nil {
		t.Fatal(err)
	}
	in := insertCard(t, card, false)
	for i := 0; i < 2; i++ {
		conn, err := in.PCSC.Connect(in.reader)
		if err != nil {
			t.Fatal(err)
		}
		_, v, err := reader.Read(context.Background(), conn, reader.CANKey(citizen.CAN), reader.Options{TrustStore: store})
		if cerr := conn.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil || !v.Genuine() {
			t.Fatalf("read %d: %v", i, err)
		}
	}
}
