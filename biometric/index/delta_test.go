package index

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"enrolldesk/desk/store"
)

func testRegistryKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func sampleDelta(t testing.TB, seq uint64) *Delta {
	t.Helper()
	s := newSynth(seq)
	fs := newFSynth(seq)
	d := &Delta{Gallery: "vn-dedup", Seq: seq}
	for i := range 3 {
		c := s.identity()
		d.Faces = append(d.Faces, FaceEntry{ID: "rf-" + string(rune('a'+i)) + string(rune('0'+seq)), Person: "RP" + string(rune('a'+i)), Descriptor: s.sample(&c)})
		d.Fingers = append(d.Fingers, FingerEntry{ID: "rt-" + string(rune('a'+i)) + string(rune('0'+seq)), Person: "RP" + string(rune('a'+i)), Position: 2 + i, Template: fs.impression(fs.master())})
	}
	return d
}

func TestDeltaRoundTripAndApply(t *testing.T) {
	ctx := context.Background()
	key := testRegistryKey(1)
	pub := key.Public().(ed25519.PublicKey)
	path := filepath.Join(t.TempDir(), store.FileName)
	db := openTestStore(t, path)
	ix, err := Open(ctx, db, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d1 := sampleDelta(t, 1)
	b1, err := SignDelta(d1, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.ApplyDelta(ctx, b1, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !faceEqual(got.Faces[1], d1.Faces[1]) || got.Fingers[2].Template.Minutiae[0].X != d1.Fingers[2].Template.Minutiae[0].X {
		t.Fatal("delta did not round-trip")
	}
	if ix.Faces.Len() != 3 || ix.Fingers.Len() != 3 {
		t.Fatalf("after delta 1: %d faces, %d fingers", ix.Faces.Len(), ix.Fingers.Len())
	}
	// Replaying delta 1, or skipping to 3, is refused.
	if _, err := ix.ApplyDelta(ctx, b1, pub); !errors.Is(err, ErrDeltaSequence) {
		t.Fatalf("replay: %v", err)
	}
	b3, _ := SignDelta(sampleDelta(t, 3), key)
	if _, err := ix.ApplyDelta(ctx, b3, pub); !errors.Is(err, ErrDeltaSequence) {
		t.Fatalf("gap: %v", err)
	}
	// Delta 2 removes one face and one finger of delta 1 and adds three of each.
	d2 := sampleDelta(t, 2)
	d2.RemoveFaces = []string{d1.Faces[0].ID}
	d2.RemoveFingers = []string{d1.Fingers[0].ID}
	b2, err := SignDelta(d2, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.ApplyDelta(ctx, b2, pub); err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Faces.Get(d1.Faces[0].ID); ok || ix.Faces.Len() != 5 || ix.Fingers.Len() != 5 {
		t.Fatalf("after delta 2: %d faces, %d fingers", ix.Faces.Len(), ix.Fingers.Len())
	}
	if seq, err := ix.DeltaSeq(ctx, "vn-dedup"); err != nil || seq != 2 {
		t.Fatalf("seq %d %v", seq, err)
	}
	// A restart loads the same galleries; registry entries are tagged as such.
	db.Close()
	db2 := openTestStore(t, path)
	ix2, err := Open(ctx, db2, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ix2.Faces.Len() != 5 || ix2.Fingers.Len() != 5 {
		t.Fatalf("reloaded %d faces, %d fingers", ix2.Faces.Len(), ix2.Fingers.Len())
	}
	hits, err := ix2.Fingers.Search(d2.Fingers[1].Template, 1)
	if err != nil || len(hits) == 0 || hits[0].ID != d2.Fingers[1].ID {
		t.Fatalf("reloaded finger search: %+v %v", hits, err)
	}
	var origin string
	if err := db2.QueryRowContext(ctx, `SELECT origin FROM finger_gallery WHERE entry_id = ?`, d2.Fingers[1].ID).Scan(&origin); err != nil || origin != "registry" {
		t.Fatalf("origin %q %v", origin, err)
	}
}

func TestDeltaTornForgedRejected(t *testing.T) {
	ctx := context.Background()
	key := testRegistryKey(1)
	pub := key.Public().(ed25519.PublicKey)
	db := openTestStore(t, filepath.Join(t.TempDir(), store.FileName))
	ix, err := Open(ctx, db, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := SignDelta(sampleDelta(t, 1), key)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := SignDelta(sampleDelta(t, 1), testRegistryKey(2))
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	cases := map[string][]byte{
		"torn in the payload":   good[:len(good)/2],
		"torn in the signature": good[:len(good)-1],
		"trailing bytes":        append(bytes.Clone(good), 0),
		"signed by another key": forged,
		"one bit flipped":       flipped,
		"empty":                 nil,
		"bad magic":             append([]byte("EDGD\x02"), good[5:]...),
	}
	for name, b := range cases {
		if _, err := ix.ApplyDelta(ctx, b, pub); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if ix.Faces.Len() != 0 || ix.Fingers.Len() != 0 {
		t.Fatal("a rejected delta changed the gallery")
	}
	if seq, _ := ix.DeltaSeq(ctx, "vn-dedup"); seq != 0 {
		t.Fatalf("seq %d after rejected deltas", seq)
	}
	if _, err := ix.ApplyDelta(ctx, good, pub); err != nil {
		t.Fatalf("the good delta after the bad ones: %v", err)
	}
}

// TestDeltaAtomicOnStoreFailure makes SQLite fail on the last row of a valid delta: nothing of the
// delta may stay, neither in the file nor in memory.
func TestDeltaAtomicOnStoreFailure(t *testing.T) {
	ctx := context.Background()
	key := testRegistryKey(1)
	pub := key.Public().(ed25519.PublicKey)
	db := openTestStore(t, filepath.Join(t.TempDir(), store.FileName))
	ix, err := Open(ctx, db, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := sampleDelta(t, 1)
	b, _ := SignDelta(d, key)
	last := d.Fingers[len(d.Fingers)-1].ID
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER fail_last BEFORE INSERT ON finger_gallery WHEN NEW.entry_id = '`+last+`'
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.ApplyDelta(ctx, b, pub); err == nil {
		t.Fatal("delta applied despite the failure")
	}
	var faces, fingers, syncs int
	for q, p := range map[string]*int{`SELECT count(*) FROM face_gallery`: &faces, `SELECT count(*) FROM finger_gallery`: &fingers, `SELECT count(*) FROM gallery_sync`: &syncs} {
		if err := db.QueryRowContext(ctx, q).Scan(p); err != nil {
			t.Fatal(err)
		}
	}
	if faces+fingers+syncs != 0 || ix.Faces.Len()+ix.Fingers.Len() != 0 {
		t.Fatalf("partial delta stayed: %d faces, %d fingers, %d sync rows, %d+%d in memory", faces, fingers, syncs, ix.Faces.Len(), ix.Fingers.Len())
	}
	if _, err := db.ExecContext(ctx, `DROP TRIGGER fail_last`); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.ApplyDelta(ctx, b, pub); err != nil {
		t.Fatalf("retry after the failure: %v", err)
	}
}

func TestDeltaRejectsBadContent(t *testing.T) {
	key := testRegistryKey(1)
	d := sampleDelta(t, 1)
	d.RemoveFaces = []string{d.Faces[0].ID}
	if _, err := SignDelta(d, key); err == nil {
		t.Fatal("a face both added and removed was signed")
	}
	d = sampleDelta(t, 1)
	d.Fingers[0].Position = 12
	if _, err := SignDelta(d, key); err == nil {
		t.Fatal("finger position 12 signed")
	}
	d = sampleDelta(t, 1)
	d.Seq = 0
	if _, err := SignDelta(d, key); err == nil {
		t.Fatal("sequence 0 signed")
	}
}

func faceEqual(a, b FaceEntry) bool {
	return a.ID == b.ID && a.Person == b.Person && slices.Equal(a.Descriptor, b.Descriptor)
}
