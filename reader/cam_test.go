package reader_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/sm"
	"enrolldesk/reader/vcard"
)

// TestReadNewPACESuites: the integrated mapping with AES-192 and AES-256 (ECDH and DH) and PACE-CAM
// with each AES size, read in process with the MRZ and the CAN. With PACE-CAM the verdict says that
// chip authentication ran through PACE (no separate MSE:Set AT / GENERAL AUTHENTICATE for CA, so
// two APDUs fewer than the same card read with the generic mapping).
func TestReadNewPACESuites(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	for _, c := range []struct{ mapping, cipher, id int }{
		{pace.MappingECDHIM, 3, 13}, {pace.MappingECDHIM, 4, 12}, {pace.MappingDHIM, 3, 0}, {pace.MappingDHIM, 4, 2},
		{pace.MappingECDHCAM, 2, 13}, {pace.MappingECDHCAM, 3, 12}, {pace.MappingECDHCAM, 4, 13},
	} {
		o := vcard.Options{PACEParamID: c.id, PACEProtocol: pace.Protocol(c.mapping, c.cipher)}
		want := map[int]sm.Alg{2: sm.AES128, 3: sm.AES192, 4: sm.AES256}[c.cipher]
		for _, key := range []reader.AccessKey{reader.MRZKey(f.citizen.AccessKey()), reader.CANKey(f.citizen.CAN)} {
			data, v, err := reader.Read(context.Background(), f.card(t, o), key, reader.Options{TrustStore: f.store, Mode: reader.Extended})
			if err != nil {
				t.Fatalf("%v on %d: %v", o.PACEProtocol, c.id, err)
			}
			ac, _ := v.Get(pa.CheckAccessControl)
			if !v.Genuine() || !strings.Contains(ac.Reason, want.String()) || data.VN.IDNumber != f.citizen.IDNumber {
				t.Fatalf("%v on %d: %+v", o.PACEProtocol, c.id, v.Checks)
			}
			ch, _ := v.Get(pa.CheckChipAuth)
			cam := c.mapping == pace.MappingECDHCAM
			if ch.Status != pa.Passed || cam != strings.HasPrefix(ch.Reason, "PACE-CAM") ||
				cam != (v.ChipAuthMethod == pa.ChipAuthPACECAM) || !cam && v.ChipAuthMethod != pa.ChipAuthSeparate {
				t.Fatalf("%v: chip authentication %+v via %q", o.PACEProtocol, ch, v.ChipAuthMethod)
			}
			t.Logf("%s; %s; %d APDUs", ac.Reason, ch.Reason, data.APDUs)
		}
		if _, _, err := reader.Read(context.Background(), f.card(t, o), reader.CANKey("000000"), reader.Options{}); !errors.Is(err, pace.ErrAuth) {
			t.Fatalf("%v wrong CAN: %v", o.PACEProtocol, err)
		}
	}
}

// TestPACECAMRefusesMismatch: a chip whose PACE-CAM data was computed with another key than its
// DG14 key (a clone that copied DG14) is refused once DG14 is read, with a clear reason and no data.
// Skipping chip authentication leaves the check unavailable instead.
func TestPACECAMRefusesMismatch(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	o := vcard.Options{PACEParamID: 13, PACEProtocol: pace.Protocol(pace.MappingECDHCAM, 2), CAMLie: true}
	data, v, err := reader.Read(context.Background(), f.card(t, o), reader.CANKey(f.citizen.CAN), reader.Options{TrustStore: f.store})
	if !errors.Is(err, reader.ErrChipAuth) || !errors.Is(err, pace.ErrCAM) || data != nil || v != nil {
		t.Fatalf("lying PACE-CAM chip: %v", err)
	}
	t.Logf("error: %v", err)
	_, v, err = reader.Read(context.Background(), f.card(t, o), reader.CANKey(f.citizen.CAN), reader.Options{TrustStore: f.store, SkipChipAuth: true})
	if c, _ := v.Get(pa.CheckChipAuth); err != nil || c.Status != pa.Unavailable || v.ChipAuthMethod != "" {
		t.Fatalf("skipped: %+v %v", c, err)
	}
}

// TestPACECAMKeyNotInDG14: when DG14 holds no key on the PACE curve (the chip keeps its PACE-CAM
// key in EF.CardSecurity only), the CAM data cannot be checked, so the reader proves the chip with
// classic chip authentication on the DG14 key instead.
func TestPACECAMKeyNotInDG14(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	o := vcard.Options{PACEParamID: 13, PACEProtocol: pace.Protocol(pace.MappingECDHCAM, 2), CAMKeyElsewhere: true}
	_, v, err := reader.Read(context.Background(), f.card(t, o), reader.CANKey(f.citizen.CAN), reader.Options{TrustStore: f.store})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := v.Get(pa.CheckChipAuth); c.Status != pa.Passed || v.ChipAuthMethod != pa.ChipAuthSeparate || !v.Genuine() {
		t.Fatalf("chip authentication %+v via %q", c, v.ChipAuthMethod)
	}
	// A clone of such a card still fails the classic chip authentication.
	o.CloneChip = true
	if data, _, err := reader.Read(context.Background(), f.card(t, o), reader.CANKey(f.citizen.CAN), reader.Options{TrustStore: f.store}); !errors.Is(err, reader.ErrChipAuth) || data != nil {
		t.Fatalf("clone: %v", err)
	}
}

// TestPACECAMWithTerminal: terminal authentication after PACE-CAM is not implemented, so a desk
// with terminal certificates reads a PACE-CAM card without DG3 and the verdict says why (the chip
// is still genuine); when the card fell back to classic chip authentication, DG3 is read.
func TestPACECAMWithTerminal(t *testing.T) {
	f := newFixture(t, vcard.PKIOptions{})
	finger, err := vcard.LoadFingerTIFF(fingerPath(), 2)
	if err != nil {
		t.Fatal(err)
	}
	f.citizen.Fingers = []lds.Finger{finger}
	p := newEAC(t, "VN")
	term := p.terminal(t, eac.RightDG3, time.Now().AddDate(0, 0, 30))
	for _, elsewhere := range []bool{false, true} {
		o := vcard.Options{PACEParamID: 13, PACEProtocol: pace.Protocol(pace.MappingECDHCAM, 2), CAMKeyElsewhere: elsewhere, CVCA: p.cvca}
		data, v, err := reader.Read(context.Background(), f.card(t, o), reader.CANKey(f.citizen.CAN), reader.Options{TrustStore: f.store, Terminal: term})
		if err != nil {
			t.Fatal(err)
		}
		ta, _ := v.Get(pa.CheckTerminalAuth)
		if !v.Genuine() || elsewhere != (ta.Status == pa.Passed) || elsewhere != (len(data.Fingers) == 1) ||
			!elsewhere && !strings.Contains(ta.Reason, "PACE-CAM") {
			t.Fatalf("CAM key elsewhere %v: TA %+v, %d fingers", elsewhere, ta, len(data.Fingers))
		}
	}
}
