package settings

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"enrolldesk/desk/opstest"
)

func newStore(t *testing.T) (*Store, *opstest.Fixture) {
	t.Helper()
	f := opstest.New(t)
	return New(f.DB, f.Audit, f.Clock.Now), f
}

func TestDefaultsValidAndLoadedOnFreshDesk(t *testing.T) {
	s, _ := newStore(t)
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	got, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Defaults()) {
		t.Fatalf("fresh desk settings differ from defaults:\n%+v\n%+v", got, Defaults())
	}
	flat, err := Flatten(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"timeouts.card", "timeouts.camera", "timeouts.sensor", "timeouts.network", "timeouts.sync_retry",
		"policy.supervisor_approval", "policy.fingers.min_fingers", "policy.face_engine", "freeze.max_pending"} {
		if _, ok := flat[k]; !ok {
			t.Errorf("key %s missing from %v", k, flat)
		}
	}
}

func TestFaceEngineValidated(t *testing.T) {
	if Defaults().Policy.FaceEngine != FaceEngineFacenet {
		t.Fatalf("default face engine %q", Defaults().Policy.FaceEngine)
	}
	for _, e := range []string{"", "arcface", "DLIB"} {
		st := Defaults()
		st.Policy.FaceEngine = e
		if err := st.Validate(); err == nil || !strings.Contains(err.Error(), "policy.face_engine") {
			t.Errorf("face engine %q: %v", e, err)
		}
	}
	st := Defaults()
	st.Policy.FaceEngine = FaceEngineDlib
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSetLocalTimeoutPersistsAndIsAudited(t *testing.T) {
	ctx := context.Background()
	s, f := newStore(t)
	head := f.Head(t)
	ch, err := s.Set(ctx, opstest.Supervisor, map[string]json.RawMessage{
		"timeouts.card":    json.RawMessage(`"45s"`),
		"timeouts.network": json.RawMessage(`"90000ms"`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || ch[0].Key != "timeouts.card" || ch[1].Key != "timeouts.network" || ch[1].New != `"1m30s"` {
		t.Fatalf("changes = %+v", ch)
	}
	// A second handle on the same file sees the values: they are in the store, not in memory.
	got, err := New(f.DB, f.Audit, nil).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Timeouts.Card.D() != 45*time.Second || got.Timeouts.Network.D() != 90*time.Second {
		t.Fatalf("loaded %+v", got.Timeouts)
	}
	es, err := f.Audit.Since(ctx, head, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Action != "settings.change" || es[0].Subject != "timeouts.card" ||
		es[0].Detail != `"20s" -> "45s"` || es[0].Actor != opstest.Supervisor {
		t.Fatalf("audit = %+v", es)
	}
	// Setting the same value again changes nothing and writes nothing.
	ch, err = s.Set(ctx, opstest.Supervisor, map[string]json.RawMessage{"timeouts.card": json.RawMessage(`"45s"`)})
	if err != nil || len(ch) != 0 {
		t.Fatalf("no-op set: %v %v", ch, err)
	}
	if got := f.Actions(t, head); len(got) != 2 {
		t.Fatalf("audit after no-op: %v", got)
	}
}

func TestSetRefusals(t *testing.T) {
	ctx := context.Background()
	s, f := newStore(t)
	head := f.Head(t)
	cases := []struct {
		name   string
		values map[string]json.RawMessage
		want   string
	}{
		{"registry key", map[string]json.RawMessage{"policy.supervisor_approval": json.RawMessage(`false`)}, "signed desk settings"},
		{"freeze key", map[string]json.RawMessage{"freeze.max_pending": json.RawMessage(`100000`)}, "signed desk settings"},
		{"unknown key", map[string]json.RawMessage{"timeouts.coffee": json.RawMessage(`"1s"`)}, "unknown key"},
		{"too short", map[string]json.RawMessage{"timeouts.card": json.RawMessage(`"1ms"`)}, "timeouts.card: 1ms is outside"},
		{"not a duration", map[string]json.RawMessage{"timeouts.card": json.RawMessage(`30`)}, "duration must be a string"},
		{"retry max below retry", map[string]json.RawMessage{"timeouts.sync_retry_max": json.RawMessage(`"1s"`)}, "below timeouts.sync_retry"},
		{"quality range", map[string]json.RawMessage{"thresholds.finger_min_quality": json.RawMessage(`101`)}, "outside 0..100"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Set(ctx, opstest.Supervisor, c.values)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	got, err := s.Load(ctx)
	if err != nil || !reflect.DeepEqual(got, Defaults()) {
		t.Fatalf("refused changes leaked: %v %+v", err, got)
	}
	if a := f.Actions(t, head); len(a) != 0 {
		t.Fatalf("refused changes audited as changes: %v", a)
	}
}

func TestStoredUnknownKeyIgnored(t *testing.T) {
	ctx := context.Background()
	s, f := newStore(t)
	if _, err := f.DB.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ('timeouts.future', '"1s"', 'x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx); err != nil {
		t.Fatalf("a key written by a newer release broke Load: %v", err)
	}
}

func signedDoc(t *testing.T, f *opstest.Fixture, priv ed25519.PrivateKey, serial uint64, mut func(*Settings)) []byte {
	t.Helper()
	st := Defaults()
	if mut != nil {
		mut(&st)
	}
	b, err := Sign(Document{DeskID: f.Desk.ID, Serial: serial, IssuedAt: f.Clock.Now().UnixMilli(), Settings: st}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplySignedAtomicallyAndRefuseForgeries(t *testing.T) {
	ctx := context.Background()
	s, f := newStore(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, mallory, _ := ed25519.GenerateKey(rand.Reader)

	doc := signedDoc(t, f, priv, 1, func(st *Settings) {
		st.Policy.SupervisorApproval = false
		st.Freeze.MaxPending = 20
		st.Timeouts.Camera = Duration(5 * time.Second)
	})
	if _, _, err := s.ApplySigned(ctx, doc); !errors.Is(err, ErrNoRegistryKey) {
		t.Fatalf("before pinning: %v", err)
	}
	if err := s.PinRegistryKey(ctx, "system", pub); err != nil {
		t.Fatal(err)
	}
	if err := s.PinRegistryKey(ctx, "system", pub); err != nil {
		t.Fatalf("re-pinning the same key: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := s.PinRegistryKey(ctx, "system", otherPub); err == nil {
		t.Fatal("a second, different registry key was pinned")
	}

	head := f.Head(t)
	// Forged: signed by another key.
	if _, _, err := s.ApplySigned(ctx, signedDoc(t, f, mallory, 1, func(st *Settings) { st.Freeze.MaxPending = 0 })); !errors.Is(err, ErrForged) {
		t.Fatalf("forged: %v", err)
	}
	// Tampered: one payload byte changed after signing.
	var env Envelope
	if err := cborDec.Unmarshal(doc, &env); err != nil {
		t.Fatal(err)
	}
	env.Payload[len(env.Payload)-1] ^= 1
	tampered, _ := cborEnc.Marshal(env)
	if _, _, err := s.ApplySigned(ctx, tampered); !errors.Is(err, ErrForged) {
		t.Fatalf("tampered: %v", err)
	}
	// Unsigned: raw settings JSON.
	raw, _ := json.Marshal(Defaults())
	if _, _, err := s.ApplySigned(ctx, raw); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unsigned: %v", err)
	}
	// For another desk.
	other, _ := Sign(Document{DeskID: "another-desk", Serial: 1, Settings: Defaults()}, priv)
	if _, _, err := s.ApplySigned(ctx, other); !errors.Is(err, ErrOtherDesk) {
		t.Fatalf("other desk: %v", err)
	}
	// Validly signed but invalid values: refused as a whole.
	bad := signedDoc(t, f, priv, 1, func(st *Settings) { st.Policy.Fingers.MinFingers = 11 })
	if _, _, err := s.ApplySigned(ctx, bad); err == nil || !strings.Contains(err.Error(), "min_fingers") {
		t.Fatalf("invalid: %v", err)
	}
	got, _ := s.Load(ctx)
	if !reflect.DeepEqual(got, Defaults()) {
		t.Fatalf("a refused document changed settings: %+v", got)
	}
	if a := f.Actions(t, head); !reflect.DeepEqual(a, []string{"settings.refuse", "settings.refuse", "settings.refuse", "settings.refuse", "settings.refuse"}) {
		t.Fatalf("refusals audited as %v", a)
	}

	head = f.Head(t)
	d, changes, err := s.ApplySigned(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if d.Serial != 1 || len(changes) != 3 {
		t.Fatalf("applied %+v with changes %+v", d, changes)
	}
	got, _ = s.Load(ctx)
	if got.Policy.SupervisorApproval || got.Freeze.MaxPending != 20 || got.Timeouts.Camera.D() != 5*time.Second {
		t.Fatalf("signed settings not applied: %+v", got)
	}
	if a := f.Actions(t, head); !reflect.DeepEqual(a, []string{"settings.change", "settings.change", "settings.change", "settings.apply"}) {
		t.Fatalf("apply audited as %v", a)
	}
	// Replay of the same document, and an older serial, are stale.
	if _, _, err := s.ApplySigned(ctx, doc); !errors.Is(err, ErrStale) {
		t.Fatalf("replay: %v", err)
	}
	last, err := s.LastApplied(ctx)
	if err != nil || last.Serial != 1 {
		t.Fatalf("last applied %+v %v", last, err)
	}
	// A newer document replaces every key, including the local ones set at the desk before.
	if _, err := s.Set(ctx, opstest.Supervisor, map[string]json.RawMessage{"timeouts.card": json.RawMessage(`"40s"`)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ApplySigned(ctx, signedDoc(t, f, priv, 2, nil)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Load(ctx)
	if !reflect.DeepEqual(got, Defaults()) {
		t.Fatalf("serial 2 (defaults) not applied in full: %+v", got)
	}
	if _, err := f.Audit.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestVersion(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"1.2.3", "1.10.0", true}, {"v2", "1.99.99", false}, {"1.4.0-rc1", "1.4.0", false}, {"0.9", "0.9.1", true}} {
		a, err := ParseVersion(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if a.Less(b) != c.less {
			t.Errorf("%s < %s = %v", c.a, c.b, !c.less)
		}
	}
	for _, s := range []string{"", "1.x", "1.2.3.4", "-1"} {
		if _, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
}

// FuzzVerify feeds arbitrary envelopes to the parser: it must never panic and never accept
// anything not signed by the key.
func FuzzVerify(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, 32))
	good, err := Sign(Document{DeskID: "d", Serial: 1, Settings: Defaults()}, seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0xa2})
	pub := seed.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := Verify(b, pub)
		if err != nil {
			return
		}
		if doc.Version != DocumentVersion {
			t.Fatalf("accepted version %d", doc.Version)
		}
	})
}
