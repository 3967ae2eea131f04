package index

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"enrolldesk/desk/store"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func openTestStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustSealer(t *testing.T, key []byte) Sealer {
	t.Helper()
	s, err := NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFaceStoreRoundTripAndIncrementalLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	db := openTestStore(t, path)
	ix, err := Open(ctx, db, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSynth(21)
	n := loadBatch + 904 // more than one start-up batch
	es := make([]FaceEntry, n)
	for i := range es {
		c := s.identity()
		es[i] = FaceEntry{ID: fmt.Sprintf("rec-%05d", i), Person: fmt.Sprintf("079%09d", i), Descriptor: s.sample(&c)}
	}
	if err := ix.AddFaces(ctx, es[:n-1], OriginRegistry); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddFace(ctx, es[n-1], OriginLocal); err != nil {
		t.Fatal(err)
	}
	if err := ix.RemoveFace(ctx, es[7].ID); err != nil {
		t.Fatal(err)
	}
	// The blobs on disk are sealed: no raw descriptor bytes in the file.
	var blob []byte
	if err := db.QueryRowContext(ctx, `SELECT descriptor FROM face_gallery WHERE entry_id = ?`, es[3].ID).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, EncodeDescriptor(es[3].Descriptor)[:16]) {
		t.Fatal("descriptor stored in the clear")
	}

	db.Close()
	db2 := openTestStore(t, path)
	ix2, err := Open(ctx, db2, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ix2.Faces.Len(); got != n-1 {
		t.Fatalf("reloaded %d entries, want %d", got, n-1)
	}
	for _, i := range []int{0, 3, loadBatch, n - 1} {
		e, ok := ix2.Faces.Get(es[i].ID)
		if !ok || !faceEqual(e, es[i]) {
			t.Fatalf("entry %d after reload: %+v %v", i, e.ID, ok)
		}
		hits, err := ix2.Faces.Search(es[i].Descriptor, 1)
		if err != nil || hits[0].ID != es[i].ID || hits[0].Distance != 0 {
			t.Fatalf("search entry %d after reload: %+v %v", i, hits, err)
		}
	}
	if _, ok := ix2.Faces.Get(es[7].ID); ok {
		t.Fatal("removed entry came back")
	}

	// A wrong data key, or a blob moved to another row, does not load.
	if _, err := Open(ctx, db2, mustSealer(t, testKey(2)), FaceOptions{}, FingerOptions{}); err == nil {
		t.Fatal("opened with the wrong key")
	}
	if _, err := db2.ExecContext(ctx, `UPDATE face_gallery SET descriptor = (SELECT descriptor FROM face_gallery WHERE entry_id = ?) WHERE entry_id = ?`, es[1].ID, es[2].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, db2, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{}); err == nil {
		t.Fatal("a blob moved to another row was accepted")
	}
}

func TestFaceStoreRejectsBadEntries(t *testing.T) {
	ctx := context.Background()
	db := openTestStore(t, filepath.Join(t.TempDir(), store.FileName))
	ix, err := Open(ctx, db, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := FaceEntry{ID: "a", Person: "p", Descriptor: newSynth(1).random()}
	if err := ix.AddFace(ctx, FaceEntry{ID: "a", Descriptor: good.Descriptor}, OriginLocal); err == nil {
		t.Fatal("entry without person accepted")
	}
	if err := ix.AddFace(ctx, good, Origin("elsewhere")); err == nil {
		t.Fatal("bad origin accepted")
	}
	// A batch with one bad entry stores nothing.
	bad := good
	bad.ID = "b"
	bad.Person = ""
	if err := ix.AddFaces(ctx, []FaceEntry{good, bad}, OriginLocal); err == nil {
		t.Fatal("batch with a bad entry accepted")
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM face_gallery`).Scan(&n); err != nil || n != 0 || ix.Faces.Len() != 0 {
		t.Fatalf("after a failed batch: %d rows, %d in memory, %v", n, ix.Faces.Len(), err)
	}
	if _, err := NewAESGCMSealer(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}
