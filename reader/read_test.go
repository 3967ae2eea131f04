package reader_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/bac"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/vcard"
)

// facePath is an LFW face from ../shared/testdata (relative to the repository root).
func facePath(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "shared", "testdata", "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg")
}

var (
	faceOnce sync.Once
	face     struct {
		jpeg []byte
		w, h int
		err  error
	}
)

type fixture struct {
	pki     *vcard.PKI
	citizen *vcard.Citizen
	store   *pa.TrustStore
}

func newFixture(t testing.TB, po vcard.PKIOptions) *fixture {
	t.Helper()
	pki, err := vcard.NewPKI(po)
	if err != nil {
		t.Fatal(err)
	}
	c := vcard.SampleCitizen()
	faceOnce.Do(func() { face.jpeg, face.w, face.h, face.err = vcard.LoadFace(facePath(t), 22000) })
	if face.err != nil {
		t.Fatal(face.err)
	}
	c.FaceJPEG, c.FaceWidth, c.FaceHeight = face.jpeg, face.w, face.h
	dir := t.TempDir()
	if err := pki.WriteTrustStore(dir); err != nil {
		t.Fatal(err)
	}
	ts, err := pa.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pki: pki, citizen: c, store: ts}
}

func (f *fixture) card(t testing.TB, o vcard.Options) *vcard.Card {
	t.Helper()
	c, err := vcard.Personalise(f.citizen, f.pki, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReadInProcess(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	for _, mode := range []reader.Mode{reader.Extended, reader.Short} {
		card := f.card(t, vcard.Options{})
		var progressed int
		data, v, err := reader.Read(context.Background(), card, reader.MRZKey(f.citizen.AccessKey()), reader.Options{
			Mode: mode, TrustStore: f.store,
			Progress: func(string, int, int) { progressed++ },
		})
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if !v.Genuine() {
			t.Fatalf("mode %v: verdict %+v", mode, v.Checks)
		}
		if data.VN.FullName != "Nguyễn Thị Hương" || data.VN.MotherName != "Trần Thị Lan" {
			t.Fatalf("DG13 %+v", data.VN)
		}
		if id, ok := data.MRZ.CCCDNumber(); !ok || id != "001099012345" || !data.MRZ.ChecksOK {
			t.Fatalf("MRZ %+v", data.MRZ)
		}
		img, err := data.Faces[0].Decode()
		if err != nil || img.Bounds().Dx() != 320 {
			t.Fatalf("face: %v", err)
		}
		if len(data.Files[2]) < 15000 {
			t.Fatalf("DG2 only %d bytes", len(data.Files[2]))
		}
		if c, _ := v.Get(pa.CheckActiveAuth); c.Status != pa.Passed {
			t.Fatalf("AA %+v", c)
		}
		t.Logf("mode %v: %d APDUs, DG2 %d bytes, %d progress events", mode, data.APDUs, len(data.Files[2]), progressed)
	}
}

func TestReadWrongKey(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	key := f.citizen.AccessKey()
	key.DateOfExpiry = "390315"
	_, _, err := reader.Read(context.Background(), f.card(t, vcard.Options{}), reader.MRZKey(key), reader.Options{})
	if !errors.Is(err, bac.ErrAuth) {
		t.Fatalf("wrong key: %v", err)
	}
}

// TestHostileCards: every forged or altered element fails its own check, and the rest still pass.
func TestPassiveAuthFailures(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	cases := []struct {
		forge vcard.Forgery
		check string
	}{
		{vcard.ForgeDG1, "dg_hash_DG1"},
		{vcard.ForgeDG2, "dg_hash_DG2"},
		{vcard.ForgeDG13, "dg_hash_DG13"},
		{vcard.ForgeSODSignature, pa.CheckSODSignature},
		{vcard.ForgeMessageDigest, pa.CheckSODDigest},
		{vcard.ForgeUnknownCSCA, pa.CheckDSChain},
		{vcard.ForgeDGHashMissing, "dg_hash_DG13"},
	}
	for _, c := range cases {
		_, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{Forge: c.forge}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
		if err != nil {
			t.Fatalf("forgery %d: %v", c.forge, err)
		}
		got, ok := v.Get(c.check)
		if !ok || got.Status != pa.Failed || got.Reason == "" {
			t.Fatalf("forgery %d: check %s = %+v", c.forge, c.check, got)
		}
		if v.PassiveOK() || v.Genuine() {
			t.Fatalf("forgery %d: verdict passes", c.forge)
		}
		if n := len(v.Failed()); n != 1 {
			t.Fatalf("forgery %d: %d failures: %+v", c.forge, n, v.Failed())
		}
	}
}

func TestPassiveAuthExpiredDSAndRevoked(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{DSExpired: true})
	_, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckDSValidity); c.Status != pa.Failed || v.PassiveOK() {
		t.Fatalf("expired DS: %+v", v.Checks)
	}
	// Revocation: a CRL from the CSCA naming the DS.
	f = newFixture(t, vcard.PKIOptions{})
	dir := t.TempDir()
	if err := f.pki.WriteTrustStore(dir); err != nil {
		t.Fatal(err)
	}
	if err := f.pki.RevokeDS(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	ts, err := pa.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err = reader.Read(context.Background(), f.card(t, vcard.Options{}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: ts})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckCRL); c.Status != pa.Failed || v.Genuine() {
		t.Fatalf("revoked DS: %+v", v.Checks)
	}
	// No trust store: the chain is unavailable and the verdict does not pass.
	_, v, err = reader.Read(context.Background(), f.card(t, vcard.Options{}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckDSChain); c.Status != pa.Unavailable || v.PassiveOK() {
		t.Fatalf("no trust store: %+v", v.Checks)
	}
}

func TestHostileTransport(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	cases := []struct {
		name string
		o    vcard.Options
		want error
		text string
	}{
		{"bad MAC", vcard.Options{BadMACAfter: 3}, sm.ErrMAC, ""},
		{"truncated DG2", vcard.Options{Truncate: 2}, reader.ErrTruncated, "DG2"},
		{"absurd DG13 length", vcard.Options{AbsurdLength: 13}, reader.ErrAbsurdLength, "DG13"},
	}
	for _, c := range cases {
		for _, mode := range []reader.Mode{reader.Extended, reader.Short} {
			data, v, err := reader.Read(context.Background(), f.card(t, c.o), reader.MRZKey(f.citizen.AccessKey()), reader.Options{Mode: mode, TrustStore: f.store})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("%s mode %v: %v", c.name, mode, err)
			}
			if data != nil || v != nil {
				t.Fatalf("%s: partial result", c.name)
			}
		}
	}
}

func TestReadPACE(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	for _, id := range []int{12, 13} {
		for _, key := range []reader.AccessKey{reader.MRZKey(f.citizen.AccessKey()), reader.CANKey(f.citizen.CAN)} {
			data, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{PACEParamID: id}), key, reader.Options{TrustStore: f.store, Mode: reader.Extended})
			if err != nil {
				t.Fatalf("curve %d: %v", id, err)
			}
			ac, _ := v.Get(pa.CheckAccessControl)
			if !v.Genuine() || !strings.HasPrefix(ac.Reason, "PACE-") {
				t.Fatalf("curve %d: %+v", id, v.Checks)
			}
			t.Logf("%s: %d APDUs", ac.Reason, data.APDUs)
		}
		// Wrong CAN: PACE fails, no data.
		data, _, err := reader.Read(context.Background(), f.card(t, vcard.Options{PACEParamID: id}), reader.CANKey("000000"), reader.Options{})
		if !errors.Is(err, pace.ErrAuth) || data != nil {
			t.Fatalf("wrong CAN: %v", err)
		}
	}
	// DH generic mapping and both integrated mappings, with the MRZ and the CAN.
	for _, c := range []struct{ mapping, id int }{{pace.MappingDHGM, 0}, {pace.MappingDHGM, 2}, {pace.MappingDHIM, 0}, {pace.MappingECDHIM, 13}, {pace.MappingECDHIM, 12}} {
		o := vcard.Options{PACEParamID: c.id, PACEProtocol: pace.Protocol(c.mapping, 2)}
		for _, key := range []reader.AccessKey{reader.MRZKey(f.citizen.AccessKey()), reader.CANKey(f.citizen.CAN)} {
			_, v, err := reader.Read(context.Background(), f.card(t, o), key, reader.Options{TrustStore: f.store})
			if err != nil {
				t.Fatalf("%v on %d: %v", o.PACEProtocol, c.id, err)
			}
			ac, _ := v.Get(pa.CheckAccessControl)
			if !v.Genuine() || !strings.Contains(ac.Reason, "mapping on") {
				t.Fatalf("%v on %d: %+v", o.PACEProtocol, c.id, v.Checks)
			}
			t.Log(ac.Reason)
		}
		if _, _, err := reader.Read(context.Background(), f.card(t, o), reader.CANKey("000000"), reader.Options{}); !errors.Is(err, pace.ErrAuth) {
			t.Fatalf("%v wrong CAN: %v", o.PACEProtocol, err)
		}
	}
	// BAC forced on a PACE card still works (CCCDs keep BAC for older readers).
	_, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{PACEParamID: 13}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store, Access: reader.AccessBAC})
	if err != nil || !v.Genuine() {
		t.Fatalf("BAC on PACE card: %v", err)
	}
	// A CAN cannot open a BAC-only card.
	if _, _, err := reader.Read(context.Background(), f.card(t, vcard.Options{}), reader.CANKey(f.citizen.CAN), reader.Options{}); err == nil || !strings.Contains(err.Error(), "CAN") {
		t.Fatalf("CAN on BAC card: %v", err)
	}
}

func TestChipAuthentication(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	for _, o := range []vcard.Options{{}, {PACEParamID: 13}, {CADH: true}, {CADH: true, PACEParamID: 1, PACEProtocol: pace.Protocol(pace.MappingDHGM, 2)}} {
		_, v, err := reader.Read(context.Background(), f.card(t, o), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := v.Get(pa.CheckChipAuth); c.Status != pa.Passed || o.CADH != strings.HasPrefix(c.Reason, "DH ") {
			t.Fatalf("CA: %+v", c)
		}
		// Only DG14 requested: the confirming read still proves the chip.
		_, v, err = reader.Read(context.Background(), f.card(t, o), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store, DataGroups: []int{14}})
		if c, _ := v.Get(pa.CheckChipAuth); err != nil || c.Status != pa.Passed {
			t.Fatalf("CA with DG14 only: %+v %v", c, err)
		}
	}
	// A clone that copied DG14 but not the private key fails, with no data (ECDH and DH keys).
	for _, o := range []vcard.Options{{CloneChip: true}, {CloneChip: true, CADH: true}} {
		data, v, err := reader.Read(context.Background(), f.card(t, o), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
		if !errors.Is(err, reader.ErrChipAuth) || data != nil || v != nil {
			t.Fatalf("clone (DH %v): %v", o.CADH, err)
		}
	}
	// Skipped on request: unavailable, not failed.
	_, v, err := reader.Read(context.Background(), f.card(t, vcard.Options{CloneChip: true}), reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store, SkipChipAuth: true})
	if c, _ := v.Get(pa.CheckChipAuth); err != nil || c.Status != pa.Unavailable {
		t.Fatalf("skipped: %+v %v", c, err)
	}
}

func TestActiveAuthenticationRSA(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	card := f.card(t, vcard.Options{AARSA: true})
	_, v, err := reader.Read(context.Background(), card, reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckActiveAuth); c.Status != pa.Passed || !strings.Contains(c.Reason, "9796") {
		t.Fatalf("AA: %+v", c)
	}
	// A chip whose AA key is not the one in DG15 fails (the DG15 key comes from another card).
	other := f.card(t, vcard.Options{AARSA: true})
	card.AAKeyRSA = other.AAKeyRSA
	_, v, err = reader.Read(context.Background(), card, reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckActiveAuth); c.Status != pa.Failed || v.Genuine() {
		t.Fatalf("AA with a foreign key: %+v", c)
	}
	// The same for ECDSA.
	card = f.card(t, vcard.Options{})
	card.AAKey = f.card(t, vcard.Options{}).AAKey
	_, v, err = reader.Read(context.Background(), card, reader.MRZKey(f.citizen.AccessKey()), reader.Options{TrustStore: f.store})
	if c, _ := v.Get(pa.CheckActiveAuth); err != nil || c.Status != pa.Failed {
		t.Fatalf("ECDSA AA with a foreign key: %+v %v", c, err)
	}
}

// TestLargeFileOddINS: a DG2 of 70 KB needs offsets past 32767, which READ BINARY B0 cannot
// address: the reader switches to the odd INS B1 with DO'54' (ISO/IEC 7816-4 §11.2.3), in both
// modes, and the file still hashes to the SOD.
func TestLargeFileOddINS(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	c := *f.citizen
	c.FaceJPEG = make([]byte, 70000)
	for i := range c.FaceJPEG {
		c.FaceJPEG[i] = byte(i * 7)
	}
	for _, mode := range []reader.Mode{reader.Extended, reader.Short} {
		card, err := vcard.Personalise(&c, f.pki, vcard.Options{})
		if err != nil {
			t.Fatal(err)
		}
		data, v, err := reader.Read(context.Background(), card, reader.MRZKey(c.AccessKey()), reader.Options{Mode: mode, TrustStore: f.store})
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if len(data.Faces[0].Image) != 70000 || !v.PassiveOK() {
			t.Fatalf("mode %v: %d bytes, %+v", mode, len(data.Faces[0].Image), v.Failed())
		}
		t.Logf("mode %v: %d APDUs", mode, data.APDUs)
	}
}

// FuzzReadHostileFiles serves arbitrary DG1, DG13 and DG14 contents (inside valid secure
// messaging) to the whole Read pipeline: it must return an error or a verdict, never panic, and a
// successful read of altered files can never pass passive authentication.
func FuzzReadHostileFiles(f *testing.F) {
	fx := newFixture(f, vcard.PKIOptions{})
	// The genuine contents: DG1 and DG13 are deterministic for the citizen (DG14 holds a fresh key
	// per card, so any served DG14 differs from what that card's SOD signed unless unaltered).
	ref, err := vcard.Personalise(fx.citizen, fx.pki, vcard.Options{})
	if err != nil {
		f.Fatal(err)
	}
	genuine := map[int]string{1: string(ref.File(lds.DG1)), 13: string(ref.File(lds.DG13))}
	f.Add(uint8(1), []byte{0x61, 0x03, 0x5F, 0x1F, 0x00})
	f.Add(uint8(13), []byte{0x6D, 0x00})
	f.Add(uint8(14), []byte{0x6E, 0x02, 0x31, 0x00})
	f.Add(uint8(13), []byte{0x6D, 0x84, 0x7F, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, which uint8, content []byte) {
		dg := map[uint8]int{1: 1, 13: 13, 14: 14}[which%15]
		if dg == 0 {
			dg = 13
		}
		card, err := vcard.Personalise(fx.citizen, fx.pki, vcard.Options{RawFiles: map[int][]byte{dg: content}})
		if err != nil {
			t.Fatal(err)
		}
		data, v, err := reader.Read(context.Background(), card, reader.MRZKey(fx.citizen.AccessKey()), reader.Options{TrustStore: fx.store, DataGroups: []int{1, 13, 14}})
		if err != nil {
			if data != nil || v != nil {
				t.Fatal("partial result with an error")
			}
			return
		}
		if g, ok := genuine[dg]; ok && v.PassiveOK() && string(data.Files[dg]) != g {
			t.Fatalf("altered DG%d passed passive authentication", dg)
		}
		if dg == 14 && v.PassiveOK() {
			t.Fatal("a foreign DG14 passed passive authentication")
		}
	})
}

// TestExtendedLengthFromEFATRInfo: a card whose ATR points to EF.ATR/INFO for the extended length
// information gets extended reads sized to its 4 KB buffer; an ATR without either stays short.
func TestExtendedLengthFromEFATRInfo(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	card := f.card(t, vcard.Options{ExtendedInEFATR: 4096})
	data, v, err := reader.Read(context.Background(), card, reader.MRZKey(f.citizen.AccessKey()), reader.Options{ATR: card.ATR(), TrustStore: f.store})
	if err != nil || !v.Genuine() {
		t.Fatal(err)
	}
	if !data.Extended || data.APDUs > 25 {
		t.Fatalf("extended=%v, %d APDUs", data.Extended, data.APDUs)
	}
	short := f.card(t, vcard.Options{ShortOnly: true})
	data, _, err = reader.Read(context.Background(), short, reader.MRZKey(f.citizen.AccessKey()), reader.Options{ATR: short.ATR(), TrustStore: f.store})
	if err != nil || data.Extended {
		t.Fatalf("short-only card: extended=%v %v", data != nil && data.Extended, err)
	}
}
