package wire

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/biometric/finger/fingertest"
	"enrolldesk/desk/app"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/store"
)

func fvcFinger(t *testing.T, name string, position int) enroll.Finger {
	t.Helper()
	b, q := fingertest.ISORecord(t, shared("fingerprints", "fvc2002_db1_b", name), position)
	return enroll.Finger{Position: position, Quality: q, Template: b, TemplateFormat: "iso19794-2:2005"}
}

// An enrolled person (real face descriptor from the face engine, real FVC2002 fingers) comes back
// for a second enrollment: other photos and other impressions of the same fingers are found as a
// duplicate; another person's face and fingers are unique.
func TestDedupFindsTheSamePersonOnASecondEnrollment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &CameraFace{Models: filepath.Join("..", "..", "models")}
	defer c.Close()
	eng, _, err := c.engine()
	if err != nil {
		t.Fatal(err)
	}
	faceOf := func(p string) enroll.Face {
		f, err := eng.DescribePhoto(ctx, read(t, p))
		if err != nil {
			t.Fatal(err)
		}
		return enroll.Face{Descriptor: f.Descriptor}
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	d := app.NewIndexDedup(db)
	if err := d.Open(ctx, key); err != nil {
		t.Fatal(err)
	}
	first := []enroll.Finger{fvcFinger(t, "101_1.tif", 2), fvcFinger(t, "102_1.tif", 7)}
	if err := d.Enrolled(ctx, "rec-1", "001090000001", faceOf(blix("0006")), first); err != nil {
		t.Fatal(err)
	}
	again := []enroll.Finger{fvcFinger(t, "101_3.tif", 2), fvcFinger(t, "102_3.tif", 7)}
	got, err := d.Search(ctx, faceOf(blix("0009")), again)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("same person: %+v", got)
	if got.Decision != "duplicate" || len(got.Candidates) != 1 || got.Candidates[0] != "rec-1" {
		t.Fatalf("same person: %+v", got)
	}
	other := []enroll.Finger{fvcFinger(t, "103_1.tif", 2), fvcFinger(t, "104_1.tif", 7)}
	got, err = d.Search(ctx, faceOf(shared("faces", "lfw", "Abdullah_Gul", "Abdullah_Gul_0001.jpg")), other)
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision != "unique" {
		t.Fatalf("another person: %+v", got)
	}
}
