package qrscan_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"enrolldesk/reader"
	"enrolldesk/reader/qrscan"
	"enrolldesk/reader/vcard"
)

// payload is the QR text of the sample citizen's card front, as printed on a CCCD:
// ID|old ID|full name|ddmmyyyy birth|sex|permanent residence|ddmmyyyy issue.
func payload(c *vcard.Citizen) string {
	d := func(s string) string { return strings.ReplaceAll(s, "/", "") }
	return strings.Join([]string{c.VN.IDNumber, c.VN.OldIDNumber, c.VN.FullName, d(c.VN.DateOfBirth), c.VN.Sex, c.VN.PlaceOfResidence, d(c.VN.DateOfIssue)}, "|")
}

// TestCardFromFrame: the card front photographed in several poses (close, tilted, in perspective,
// farther away) decodes to the exact payload with its Vietnamese diacritics, and the first derived
// access key is the card's own.
func TestCardFromFrame(t *testing.T) {
	c := vcard.SampleCitizen()
	text := payload(c)
	card := renderCard(t, text, 3)
	s := qrscan.New()
	defer s.Close()
	for _, tc := range []struct {
		name string
		p    pose
	}{
		{"frontal", frontal(1000, 0)},
		{"rotated", frontal(900, 12)},
		{"upside down", frontal(950, 180)},
		{"perspective", pose{{230, 120}, {1120, 60}, {1180, 650}, {170, 600}}},
		{"farther", frontal(700, -5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := photograph(t, card, tc.p, 1)
			defer frame.Close()
			got, err := s.Decode(frame)
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatalf("decoded %q, want %q", got, text)
			}
			q, err := s.Card(frame)
			if err != nil {
				t.Fatal(err)
			}
			if q.Name != "Nguyễn Thị Hương" || q.ID != c.IDNumber || q.OldID != c.VN.OldIDNumber || q.Sex != "Nữ" {
				t.Fatalf("parsed %+v", q)
			}
			if k := q.Keys()[0]; k != c.AccessKey() {
				t.Fatalf("first key %+v, want the card's %+v", k, c.AccessKey())
			}
		})
	}
}

// TestKeyOpensChip: the key read from the photo opens the virtual chip (BAC, then the full read)
// and the chip's DG13 names the same person as the QR code.
func TestKeyOpensChip(t *testing.T) {
	c := vcard.SampleCitizen()
	var err error
	if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(testdata(t, "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg"), 12000); err != nil {
		t.Fatal(err)
	}
	pki, err := vcard.NewPKI(vcard.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chip, err := vcard.Personalise(c, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := qrscan.New()
	defer s.Close()
	frame := photograph(t, renderCard(t, payload(c), 3), frontal(950, 4), 2)
	defer frame.Close()
	q, err := s.Card(frame)
	if err != nil {
		t.Fatal(err)
	}
	var data *reader.ChipData
	for _, k := range q.Keys() {
		chip.Reset()
		if data, _, err = reader.Read(context.Background(), chip, reader.MRZKey(k), reader.Options{}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no derived key opened the chip: %v", err)
	}
	if data.VN == nil || data.VN.FullName != q.Name || data.VN.IDNumber != q.ID {
		t.Fatalf("chip holds %+v, QR says %q %q", data.VN, q.Name, q.ID)
	}
}

// TestNoCode: a frame with the card but no QR code, an empty frame, and a foreign QR code.
func TestNoCode(t *testing.T) {
	s := qrscan.New()
	defer s.Close()
	blank := photograph(t, renderCard(t, "", 0), frontal(900, 0), 3)
	defer blank.Close()
	if _, err := s.Decode(blank); !errors.Is(err, qrscan.ErrNoCode) {
		t.Fatalf("card without code: %v", err)
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := s.Decode(empty); !errors.Is(err, qrscan.ErrNoCode) {
		t.Fatalf("empty frame: %v", err)
	}
	url := photograph(t, renderCard(t, "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html", 4), frontal(900, 0), 4)
	defer url.Close()
	if _, err := s.Card(url); !errors.Is(err, qrscan.ErrNotCCCD) {
		t.Fatalf("foreign code: %v", err)
	}
}

// TestScanVideo: a camera stream (an MJPEG file through gocv.VideoCapture, as a webcam delivers
// it) whose first frames show no code, then a foreign code, then the card: Scan skips to the card.
// A stream that never shows the card ends with an error naming the foreign code it saw, and a
// cancelled context stops the scan.
func TestScanVideo(t *testing.T) {
	c := vcard.SampleCitizen()
	dir := t.TempDir()
	write := func(name string, frames ...gocv.Mat) string {
		p := filepath.Join(dir, name)
		w, err := gocv.VideoWriterFile(p, "MJPG", 10, 1280, 720, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			if err := w.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	blank := photograph(t, renderCard(t, "", 0), frontal(600, 20), 5)
	defer blank.Close()
	foreign := photograph(t, renderCard(t, "WIFI:S:desk;T:WPA;P:secret;;", 4), frontal(900, -3), 6)
	defer foreign.Close()
	cardFrame := photograph(t, renderCard(t, payload(c), 3), frontal(1000, 2), 7)
	defer cardFrame.Close()

	s := qrscan.New()
	defer s.Close()
	open := func(p string) *gocv.VideoCapture {
		v, err := gocv.VideoCaptureFile(p)
		if err != nil || !v.IsOpened() {
			t.Fatalf("open %s: %v", p, err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	video := write("card.avi", blank, blank, foreign, cardFrame, blank)
	q, n, err := s.Scan(context.Background(), open(video))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || q.ID != c.IDNumber {
		t.Fatalf("card found at frame %d with ID %q", n, q.ID)
	}
	_, n, err = s.Scan(context.Background(), open(write("none.avi", blank, foreign, blank)))
	if !errors.Is(err, qrscan.ErrNotCCCD) || n != 3 {
		t.Fatalf("stream without the card: %v after %d frames", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Scan(ctx, open(video)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scan: %v", err)
	}
}

// BenchmarkDecodeFrame: one 1280×720 frame with the card held close, detection and decoding.
func BenchmarkDecodeFrame(b *testing.B) {
	frame := photograph(b, renderCard(b, payload(vcard.SampleCitizen()), 3), frontal(1000, 5), 8)
	defer frame.Close()
	s := qrscan.New()
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}
