package ops

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/biometric/face/match"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/export"
	"enrolldesk/desk/freeze"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/opstest"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/vcard"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// TestADayAtTheDesk drives every operation through Ops on one real store, with the real registry
// importing the USB bundle, and checks the audit log records each kind of event.
func TestADayAtTheDesk(t *testing.T) {
	ctx := context.Background()
	f := opstest.New(t)
	trustDir := filepath.Join(t.TempDir(), "trust")
	pki, err := vcard.NewPKI(vcard.PKIOptions{Now: f.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteTrustStore(trustDir); err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: f.Clock.Now().Add(-time.Hour), NextUpdate: f.Clock.Now().AddDate(0, 0, 30)}, pki.CSCA, pki.CSCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(trustDir, "csca.crl"), crl, 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{DB: f.DB, Audit: f.Audit, Officers: f.Officers, Now: f.Clock.Now,
		Build:      freeze.Build{Version: "1.0.0", Date: f.Clock.Now().AddDate(0, 0, -10)},
		TrustStore: func(context.Context) (*pa.TrustStore, error) { return pa.LoadTrustStore(trustDir) }})
	if err != nil {
		t.Fatal(err)
	}
	regPub, regPriv, _ := ed25519.GenerateKey(rand.Reader)
	if err := o.Settings.PinRegistryKey(ctx, "system", regPub); err != nil {
		t.Fatal(err)
	}
	// Registry's signed settings: freeze when more than 2 records wait.
	st := settings.Defaults()
	st.Freeze.MaxPending = 2
	doc, _ := settings.Sign(settings.Document{DeskID: f.Desk.ID, Serial: 1, Settings: st}, regPriv)
	if _, _, err := o.ApplySignedSettings(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := o.SetSettings(ctx, opstest.Supervisor, map[string]json.RawMessage{"timeouts.card": json.RawMessage(`"25s"`)}); err != nil {
		t.Fatal(err)
	}
	v, err := o.SettingsView(ctx)
	if err != nil || v.Signed.Serial != 1 || !slices.Contains(v.Local, "timeouts.card") || slices.Contains(v.Local, "freeze.max_pending") {
		t.Fatalf("settings view %+v %v", v, err)
	}

	if _, err := o.ReviewScreen(ctx, ""); !errors.Is(err, ErrLocked) {
		t.Fatalf("review before unlock: %v", err)
	}
	id, _ := age.GenerateX25519Identity()
	out, err := outbox.New(f.DB, outbox.Config{DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, DataKey: f.Keys.DataKey, Registry: id.Recipient(), Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Unlock(ctx, f.Keys, out, id.Recipient()); err != nil {
		t.Fatal(err)
	}
	if err := o.DeviceEvent(ctx, "", DeviceCard, "connected", "vpcd 0"); err != nil {
		t.Fatal(err)
	}
	if err := o.DeviceEvent(ctx, "", DeviceCard, "exploded", ""); err == nil {
		t.Fatal("unknown device event accepted")
	}

	// The officer logs in; the officer's own face is enrolled by the supervisor.
	if _, err := f.Officers.Authenticate(ctx, opstest.Officer, opstest.OfficerPIN); err != nil {
		t.Fatal(err)
	}
	if err := o.EnrollOfficerBiometrics(ctx, opstest.Supervisor, opstest.Officer,
		opcheck.Profile{Faces: []opcheck.Face{{Engine: "e", ModelSet: "m", Descriptor: []float32{0, 1}}}}); err != nil {
		t.Fatal(err)
	}
	key, err := f.Officers.UnlockSigningKey(ctx, opstest.Officer, opstest.OfficerPIN)
	if err != nil {
		t.Fatal(err)
	}
	cal := match.Calibration{MatchThreshold: 0.4, MatchFMR: 0.001}
	hand := []byte("\xff\xd8\xff\xe0 photo of the bandaged hand")
	for i := 0; i < 4; i++ {
		if err := o.AllowEnrollment(ctx, opstest.Officer); err != nil {
			var fe *freeze.FrozenError
			if i == 3 && errors.As(err, &fe) {
				break // the fourth waits: three are already pending
			}
			t.Fatalf("enrollment %d: %v", i, err)
		}
		// The finger step: the right index is bandaged.
		caps := []exceptions.Capture{{Position: 7, Quality: 80}, {Position: 1, Quality: 70}}
		x, photoBlob := exceptions.Declare(2, exceptions.Bandaged, hand)
		exc := []exceptions.Exception{x}
		res, err := o.ValidateFingers(ctx, caps, nil)
		if err != nil || res.OK() || res.Errors[0].Code != exceptions.CodeMissing || res.Errors[0].Position != 2 {
			t.Fatalf("without the exception: %+v %v", res, err)
		}
		if res, err = o.ValidateFingers(ctx, caps, exc); err != nil || !res.OK() {
			t.Fatalf("with the exception: %+v %v", res, err)
		}
		face := []float32{1, 0}
		if i == 2 {
			face = []float32{0, 1.1} // the officer's own face
		}
		chk, err := o.OperatorCheck(ctx, opstest.Officer, opcheck.Citizen{Face: face, Engine: "e", ModelSet: "m"}, cal)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 2) != slices.Contains(chk.Flags, opcheck.FlagFace) {
			t.Fatalf("enrollment %d: operator check %+v", i, chk)
		}
		c := record.Content{OfficerID: opstest.Officer, CitizenID: fmt.Sprintf("0012030000%02d", i), DG1: []byte{byte(i)},
			Form: record.Form{Mobile: "0912345678"}, Consent: record.Consent{Given: true, Version: "v1", At: int64(i)},
			Chip: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
			Face: record.FaceResult{Decision: "match", Liveness: record.Pass}, Dedup: record.Dedup{Decision: "unique"}}
		oc, err := o.Submit(ctx, c, []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte{1, 2, byte(i)}}, photoBlob}, key, exc, chk.Flags)
		if err != nil || oc.State != review.StatePending {
			t.Fatalf("submit %d: %+v %v", i, oc, err)
		}
	}
	fs, err := o.FreezeState(ctx)
	if err != nil || !fs.Frozen || fs.Reasons[0].Code != freeze.CodePending || fs.AwaitingReview != 3 {
		t.Fatalf("freeze %+v %v", fs, err)
	}

	// End of day: the supervisor reviews.
	rs, err := o.ReviewScreen(ctx, "")
	if err != nil || len(rs.Pending) != 3 || len(rs.Reasons) == 0 {
		t.Fatalf("review screen %+v %v", rs, err)
	}
	d, err := o.ReviewOpen(ctx, opstest.Supervisor, rs.Pending[2].ItemID)
	if err != nil || !slices.Equal(d.Item.Flags, []string{opcheck.FlagFace}) || len(d.Exceptions) != 1 {
		t.Fatalf("detail %+v %v", d, err)
	}
	if err := o.ReviewReject(ctx, opstest.Supervisor, opstest.SupervisorPIN, rs.Pending[2].ItemID, "operator-self", ""); err != nil {
		t.Fatal(err)
	}
	res, err := o.ReviewApprove(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{rs.Pending[0].ItemID, rs.Pending[1].ItemID})
	if err != nil || res[0].Seq != 1 || res[1].Seq != 2 {
		t.Fatalf("approve %+v %v", res, err)
	}
	rs, _ = o.ReviewScreen(ctx, "")
	if len(rs.Pending) != 0 || len(rs.Decided) != 3 || rs.Counts[0].Released != 2 || rs.Counts[0].Rejected != 1 || rs.Counts[0].Flagged != 1 {
		t.Fatalf("after review %+v", rs)
	}

	// No network: export to USB, import at the registry, bring the receipt back.
	drive := t.TempDir()
	ex, err := o.Export(ctx, opstest.Supervisor, drive)
	if err != nil || ex.Records != 2 {
		t.Fatalf("export %+v %v", ex, err)
	}
	rst, err := registry.OpenSQLite(ctx, filepath.Join(t.TempDir(), "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	if err := rst.RegisterDesk(ctx, registry.Desk{ID: f.Desk.ID, PublicKey: f.Desk.PublicKey}); err != nil {
		t.Fatal(err)
	}
	imp := &export.Importer{Server: &registry.Server{Store: rst, Key: regPriv}, Identity: id}
	rp, n, err := imp.ImportFile(ctx, ex.Files[0])
	if err != nil || n != 2 {
		t.Fatalf("import %d %v", n, err)
	}
	if info, err := o.ApplyReceipt(ctx, opstest.Supervisor, rp); err != nil || info.Seq != 2 {
		t.Fatalf("receipt %+v %v", info, err)
	}
	if fs, _ := o.FreezeState(ctx); fs.Frozen {
		t.Fatalf("still frozen: %+v", fs)
	}

	// Every kind of event is in the hash-chained log, and the chain verifies.
	es, err := f.Audit.Since(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"login.ok", "sign.ok", "settings.apply", "settings.change", "device.connected",
		"officer.biometrics", "opcheck.flag", "exception.declare", "review.submit", "freeze.refuse", "review.view",
		"review.reject", "review.approve", "record.release", "export.write", "export.receipt"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if _, err := f.Audit.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFingerPolicyForTheWorkflow(t *testing.T) {
	f := opstest.New(t)
	p := FingerPolicy{Settings: settings.New(f.DB, f.Audit, f.Clock.Now)}
	err := p.Check([]enroll.Finger{{Position: 7, Quality: 90}, {Position: 1, Quality: 20}}, nil)
	var pe *exceptions.PolicyError
	if !errors.As(err, &pe) || len(pe.Errors) != 1 || pe.Errors[0].Position != 2 || pe.Errors[0].Code != exceptions.CodeMissing {
		t.Fatalf("right index owed: %v", err)
	}
	if err := p.Check([]enroll.Finger{{Position: 7, Quality: 90}, {Position: 1, Quality: 60}},
		[]enroll.FingerException{{Position: 2, Reason: "bandaged"}}); err != nil {
		t.Fatalf("declared: %v", err)
	}
	if err := p.Check([]enroll.Finger{{Position: 2, Quality: 90}, {Position: 7, Quality: 60}},
		[]enroll.FingerException{{Position: 3, Reason: "sore"}}); err == nil {
		t.Fatal("unknown reason accepted")
	}
}
