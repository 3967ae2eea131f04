package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/officer"
	"enrolldesk/sync/record"
)

// TestApprovedRecordReachesQueueAndHistory runs the bound approval path end to end on a real
// store: unlock with the passphrase, the workflow's steps (device outcomes given as values: this
// test is about the bound API, not the devices), PIN re-entry, then the queue and the history.
func TestApprovedRecordReachesQueueAndHistory(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.Local)
	clk := &clock{t: now}
	d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Registry: id.Recipient(), Policy: officer.DefaultPolicy, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(context.Background())
	loggedIn(t, d)
	viewOf(t, d.Enrollment.Start())
	e := d.Enrollment
	e.mu.Lock()
	s := e.cur
	e.view.Chip = &ChipView{IDNumber: "001090123456"}
	e.mu.Unlock()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetChip(enroll.Chip{IDNumber: "001090123456", FullName: "NGUYEN VAN AN", Sex: "M",
		DateOfBirth: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), DG1: []byte{0x61, 0x00},
		Verdict: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass}}))
	must(s.SetFace(enroll.Face{Score: 0.3, Threshold: 0.45, Decision: enroll.Match, Liveness: record.Pass, Portrait: []byte("portrait")}))
	e.mu.Lock()
	r := e.setFingers([]enroll.Finger{{Position: 2, Quality: 70, Decision: enroll.Captured, Template: []byte("t2"), TemplateFormat: "iso19794-2:2005"},
		{Position: 7, Quality: 65, Decision: enroll.Captured, Template: []byte("t7"), TemplateFormat: "iso19794-2:2005"}}, nil)
	e.mu.Unlock()
	viewOf(t, r)
	must(s.SetDedup(record.Dedup{Decision: "unique", GallerySize: 0}))
	v := viewOf(t, e.SubmitForm(FormInput{Mobile: "0912 345 678", Consent: true}))
	if v.Step != StepReview || len(v.Problems) != 0 {
		t.Fatalf("review %+v", v)
	}
	wantFault(t, e.Approve("246813"), CodeDeskLocked)
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	wantFault(t, e.Approve("000000"), CodeWrongPIN)
	v = viewOf(t, e.Approve(supervisor.SupervisorPIN))
	if v.Step != StepDone || v.Seq != 1 || v.RecordID == "" {
		t.Fatalf("after approval %+v", v)
	}

	var q QueueStatus
	js, _ := json.Marshal(d.Queue.Status().Data)
	if err := json.Unmarshal(js, &q); err != nil || q.Queued != 1 {
		t.Fatalf("queue %s %v", js, err)
	}
	search := func(q HistoryQuery) []HistoryEntry {
		t.Helper()
		r := d.History.Search(q)
		if !r.OK {
			t.Fatalf("search %+v: %+v", q, r.Error)
		}
		js, _ := json.Marshal(r.Data)
		var out []HistoryEntry
		if err := json.Unmarshal(js, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := search(HistoryQuery{})
	if len(all) != 1 || all[0].Seq != 1 || all[0].IDNumber != "001090123456" || all[0].State != "queued" ||
		all[0].FaceDecision != enroll.Match || all[0].Fingers != 2 || all[0].BiometricsPurged || all[0].OfficerID != supervisor.SupervisorID {
		t.Fatalf("history %+v", all)
	}
	if got := search(HistoryQuery{IDNumber: "001090123456", Date: now.Format("02/01/2006")}); len(got) != 1 {
		t.Fatalf("by id and day: %+v", got)
	}
	if got := search(HistoryQuery{IDNumber: "001099999999"}); len(got) != 0 {
		t.Fatalf("other id: %+v", got)
	}
	if got := search(HistoryQuery{Date: now.AddDate(0, 0, 1).Format("02/01/2006")}); len(got) != 0 {
		t.Fatalf("other day: %+v", got)
	}
	wantFault(t, d.History.Search(HistoryQuery{Date: "2026-11-23"}), CodeInvalid)
	wantFault(t, d.History.Search(HistoryQuery{IDNumber: "12"}), CodeInvalid)
}
