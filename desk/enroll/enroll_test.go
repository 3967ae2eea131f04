package enroll

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store/storetest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

var today = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type fixture struct {
	wf      *Workflow
	out     *outbox.Outbox
	officer officer.Officer
	deskKey ed25519.PrivateKey
	log     *audit.Log
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	log := audit.New(db, nil)
	p := officer.DefaultPolicy
	p.KDF = seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	reg := officer.NewRegistry(db, log, p, nil)
	o, err := reg.Create(ctx, "system", officer.New{ID: "off1", Name: "Trần Thị Bình", Role: officer.RoleOfficer, PIN: "271828"})
	if err != nil {
		t.Fatal(err)
	}
	_, deskKey, _ := ed25519.GenerateKey(nil)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out, err := outbox.New(db, outbox.Config{DeskID: "desk-test", DeskKey: deskKey, DataKey: make([]byte, 32), Registry: id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	wf := &Workflow{Officers: reg, Audit: log, Out: out, Policy: BothIndexFingers{MinQuality: 40}, Now: func() time.Time { return today }}
	return &fixture{wf: wf, out: out, officer: o, deskKey: deskKey, log: log}
}

func goodChip() Chip {
	return Chip{
		IDNumber: "001090123456", FullName: "NGUYỄN VĂN AN", Sex: "M",
		DateOfBirth: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC),
		DG1:         []byte{0x61, 0x00}, DG13: []byte{0x6d, 0x00}, SOD: []byte{0x77, 0x00}, Photo: []byte{0xff, 0xd8},
		Verdict: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass, DSCertID: "ab12"},
	}
}

func completeSession(t *testing.T, f *fixture) *Session {
	t.Helper()
	s := f.wf.Start(f.officer)
	must(t, s.SetChip(goodChip()))
	must(t, s.SetFace(Face{Score: 0.31, Threshold: 0.45, Decision: Match, Liveness: record.Pass, Portrait: []byte("jpeg-portrait"),
		Engine: "facenet-frfeature-p2+mirror", ModelSet: "096feec3a83bca73a811628ac0035db179e536d111a1b67ea5186d4f172481c1"}))
	must(t, s.SetFingers([]Finger{
		{Position: 2, Quality: 71, Decision: Captured, Template: []byte("tpl-2"), TemplateFormat: "iso19794-2", Image: []byte("png-2")},
		{Position: 7, Quality: 64, Decision: Captured, Template: []byte("tpl-7"), TemplateFormat: "iso19794-2"},
	}, nil))
	must(t, s.SetDedup(record.Dedup{Decision: "unique", GallerySize: 12}))
	must(t, s.SetForm(Form{Mobile: "0912 345 678", Email: "an@example.vn", Documents: []string{"driving-licence"}, Consent: true, ConsentVersion: "vi-2026-01"}, today))
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestApproveReleasesACountersignedRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := completeSession(t, f)
	if ps := s.Problems(f.wf.Policy); len(ps) != 0 {
		t.Fatalf("complete session has problems: %+v", ps)
	}
	if _, err := f.wf.Approve(ctx, s, "000000"); !errors.Is(err, officer.ErrBadCredentials) {
		t.Fatalf("approve with a wrong PIN: %v", err)
	}
	app, err := f.wf.Approve(ctx, s, "271828")
	if err != nil {
		t.Fatal(err)
	}
	if app.Seq != 1 {
		t.Fatalf("first record has seq %d", app.Seq)
	}
	pend, err := f.out.Next(ctx, 0, 10, 1<<20)
	if err != nil || len(pend) != 1 {
		t.Fatalf("outbox holds %d records, %v", len(pend), err)
	}
	signed, err := record.Verify(pend[0].Envelope, f.deskKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	r := signed.Record
	if r.CitizenID != "001090123456" || r.OfficerID != "off1" || r.Form.Mobile != "+84912345678" || !r.Consent.Given {
		t.Fatalf("record content wrong: %+v", r.Content)
	}
	if !ed25519.PublicKey(r.OfficerKey).Equal(f.officer.PublicKey) {
		t.Fatal("record does not name the approving officer's key")
	}
	// The signed face result names the engine and model set its score and threshold belong to.
	if r.Face.Engine != "facenet-frfeature-p2+mirror" || r.Face.ModelSet != "096feec3a83bca73a811628ac0035db179e536d111a1b67ea5186d4f172481c1" || r.Face.Score != 0.31 {
		t.Fatalf("face result %+v", r.Face)
	}
	// Portrait, two templates and one image travel sealed beside the record.
	if len(r.Blobs) != 4 || len(pend[0].Blobs) != 4 {
		t.Fatalf("blobs: %d refs, %d sealed", len(r.Blobs), len(pend[0].Blobs))
	}
	if _, err := f.wf.Approve(ctx, s, "271828"); err == nil {
		t.Fatal("a closed session was approved twice")
	}
	entries, _ := f.log.Since(ctx, 0, 100)
	if last := entries[len(entries)-1]; last.Action != "record.approve" || last.Subject != app.ID {
		t.Fatalf("last audit entry %+v", last)
	}
}

func TestRejectLeavesNoGapInTheChain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s1 := completeSession(t, f)
	must(t, f.wf.Reject(ctx, s1, "citizen-withdrew"))
	if err := f.wf.Reject(ctx, f.wf.Start(f.officer), "because"); err == nil {
		t.Fatal("free-text reason accepted")
	}
	s2 := completeSession(t, f)
	app, err := f.wf.Approve(ctx, s2, "271828")
	if err != nil {
		t.Fatal(err)
	}
	if app.Seq != 1 {
		t.Fatalf("after a rejection the next record has seq %d, want 1", app.Seq)
	}
	if _, err := f.wf.Approve(ctx, s1, "271828"); err == nil {
		t.Fatal("rejected session approved")
	}
}

func TestStepsAreCheckedAsTheyAreSet(t *testing.T) {
	f := newFixture(t)
	s := f.wf.Start(f.officer)
	if err := s.SetFace(Face{Decision: Match, Portrait: []byte("x")}); !errors.Is(err, ErrNoChip) {
		t.Fatalf("face before card: %v", err)
	}
	bad := goodChip()
	bad.Verdict.PA = record.Fail
	if err := s.SetChip(bad); !errors.Is(err, ErrChipNotProven) {
		t.Fatalf("chip failing PA: %v", err)
	}
	bad = goodChip()
	bad.Verdict.AA = record.Fail
	if err := s.SetChip(bad); err == nil {
		t.Fatal("chip failing AA accepted")
	}
	bad = goodChip()
	bad.IDNumber = "001091123456" // year 1991 vs DOB 1990
	if err := s.SetChip(bad); !errors.Is(err, ErrCitizenID) {
		t.Fatalf("ID disagreeing with DOB: %v", err)
	}
	must(t, s.SetChip(goodChip()))
	if err := s.SetFingers([]Finger{{Position: 2}, {Position: 2}}, nil); err == nil {
		t.Fatal("repeated finger accepted")
	}
	if err := s.SetFingers([]Finger{{Position: 2}}, []FingerException{{Position: 2, Reason: "bandaged"}}); err == nil {
		t.Fatal("finger both captured and excepted accepted")
	}
	if err := s.SetFingers(nil, []FingerException{{Position: 7}}); err == nil {
		t.Fatal("exception without reason accepted")
	}
	if err := s.SetForm(Form{Mobile: "0241234567", Consent: true, ConsentVersion: "v"}, today); !errors.Is(err, ErrMobile) {
		t.Fatalf("landline: %v", err)
	}
	if err := s.SetForm(Form{Mobile: "0912345678", ConsentVersion: "v"}, today); err == nil {
		t.Fatal("form without consent accepted")
	}
}

func TestMinorNeedsARepresentative(t *testing.T) {
	f := newFixture(t)
	s := f.wf.Start(f.officer)
	child := goodChip()
	child.IDNumber, child.DateOfBirth = "001214123456", time.Date(2014, 1, 2, 0, 0, 0, 0, time.UTC)
	must(t, s.SetChip(child))
	form := Form{Mobile: "0912345678", Consent: true, ConsentVersion: "v"}
	if err := s.SetForm(form, today); err == nil || !strings.Contains(err.Error(), "representative") {
		t.Fatalf("minor without representative: %v", err)
	}
	form.Representative = &record.Representative{IDNumber: child.IDNumber, Mobile: "0987654321"}
	if err := s.SetForm(form, today); err == nil {
		t.Fatal("the child as their own representative accepted")
	}
	form.Representative = &record.Representative{IDNumber: "001085123456", Mobile: "0987 654 321", Relation: "mother"}
	must(t, s.SetForm(form, today))
}

func TestProblemsExplainWhatBlocksApproval(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := f.wf.Start(f.officer)
	must(t, s.SetChip(goodChip()))
	must(t, s.SetFace(Face{Score: 0.5, Threshold: 0.45, Decision: Review, Liveness: record.Pass, Portrait: []byte("p")}))
	must(t, s.SetFingers([]Finger{{Position: 2, Quality: 80}}, nil))
	must(t, s.SetDedup(record.Dedup{Decision: "duplicate", Candidates: []string{"r1"}}))
	codes := map[string]bool{}
	for _, p := range s.Problems(f.wf.Policy) {
		codes[p.Code] = true
	}
	for _, want := range []string{"face.review", "fingers.policy", "dedup.duplicate", "form.missing"} {
		if !codes[want] {
			t.Errorf("problem %s not reported (got %v)", want, codes)
		}
	}
	if _, err := f.wf.Approve(ctx, s, "271828"); err == nil {
		t.Fatal("approved with open problems")
	}
	must(t, s.ConfirmFaceReview())
	// Declaring the missing finger as bandaged satisfies the policy.
	must(t, s.SetFingers([]Finger{{Position: 2, Quality: 80}}, []FingerException{{Position: 7, Reason: "bandaged"}}))
	for _, p := range s.Problems(f.wf.Policy) {
		if p.Code == "fingers.policy" || p.Code == "face.review" {
			t.Fatalf("policy still unmet: %s", p.Text)
		}
	}
}

// A declared exception carries its evidence photo into the submission: the blob and the
// exception that references it, consistent (exceptions.CheckAgainstBlobs); an exception without
// its photo blocks approval.
func TestExceptionEvidenceTravelsWithTheSubmission(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := completeSession(t, f)
	must(t, s.SetFingers([]Finger{{Position: 2, Quality: 71, Decision: Captured, Template: []byte("tpl-2"), TemplateFormat: "iso19794-2"}},
		[]FingerException{{Position: 7, Reason: "bandaged"}}))
	must(t, s.SetDedup(record.Dedup{Decision: "unique"}))
	ps := s.Problems(f.wf.Policy)
	if len(ps) != 1 || ps[0].Code != "exception.evidence" || !strings.Contains(ps[0].Text, "left index finger") {
		t.Fatalf("exception without photo: %+v", ps)
	}
	photo := []byte("\xff\xd8\xff\xe0 hand photo")
	must(t, s.SetFingers([]Finger{{Position: 2, Quality: 71, Decision: Captured, Template: []byte("tpl-2"), TemplateFormat: "iso19794-2"}},
		[]FingerException{{Position: 7, Reason: "bandaged", Photo: photo}}))
	must(t, s.SetDedup(record.Dedup{Decision: "unique"}))
	if ps := s.Problems(f.wf.Policy); len(ps) != 0 {
		t.Fatalf("problems %+v", ps)
	}
	var got Submission
	a, err := f.wf.ApproveTo(ctx, s, "271828", SubmitFunc(func(_ context.Context, sub Submission) (Approval, error) {
		got = sub
		return Approval{ItemID: "item-1", Pending: true, Why: []string{"exceptions"}}, nil
	}))
	if err != nil || !a.Pending || a.ItemID != "item-1" {
		t.Fatalf("approve to a queue: %+v %v", a, err)
	}
	if len(got.Exceptions) != 1 || got.Exceptions[0].Position != 7 || got.Exceptions[0].Reason != "bandaged" {
		t.Fatalf("exceptions %+v", got.Exceptions)
	}
	if err := exceptions.CheckAgainstBlobs(got.Exceptions, got.Blobs); err != nil {
		t.Fatal(err)
	}
	if !ed25519.PublicKey(got.Content.OfficerKey).Equal(got.OfficerKey.Public()) {
		t.Fatal("the submission's key is not the content's officer key")
	}
	entries, _ := f.log.Since(ctx, 0, 100)
	if last := entries[len(entries)-1]; last.Action != "record.approve" || last.Subject != "item-1" || !strings.Contains(last.Detail, "pending") {
		t.Fatalf("last audit entry %+v", last)
	}
	if _, err := f.wf.ApproveTo(ctx, s, "271828", SubmitFunc(func(context.Context, Submission) (Approval, error) {
		return Approval{}, errors.New("called")
	})); err == nil || !strings.Contains(err.Error(), ErrClosed.Error()) {
		t.Fatalf("second approval: %v", err)
	}
}

// A new face or finger capture clears the earlier de-duplication result: the search must run
// again with what will be signed.
func TestNewCaptureClearsTheDedupResult(t *testing.T) {
	f := newFixture(t)
	s := completeSession(t, f)
	hasDedupProblem := func() bool {
		for _, p := range s.Problems(f.wf.Policy) {
			if p.Code == "dedup.missing" {
				return true
			}
		}
		return false
	}
	if hasDedupProblem() {
		t.Fatal("complete session lacks the dedup result")
	}
	must(t, s.SetFace(Face{Score: 0.2, Threshold: 0.45, Decision: Match, Liveness: record.Pass, Portrait: []byte("again")}))
	if !hasDedupProblem() {
		t.Fatal("a new face kept the old dedup result")
	}
	must(t, s.SetDedup(record.Dedup{Decision: "unique"}))
	must(t, s.SetFingers([]Finger{{Position: 2, Quality: 71}, {Position: 7, Quality: 70}}, nil))
	if !hasDedupProblem() {
		t.Fatal("new fingers kept the old dedup result")
	}
}
