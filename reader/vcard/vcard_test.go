package vcard

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestServeFraming plays vpcd on a loopback listener (an ephemeral port, not vpcd's): power on,
// get ATR, one APDU, then pull-out after the configured count.
func TestServeFraming(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pki, err := NewPKI(PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := SampleCitizen()
	c.FaceJPEG, c.FaceWidth, c.FaceHeight = []byte{0xFF, 0xD8, 0xFF, 0xD9}, 1, 1
	card, err := Personalise(c, pki, Options{PullAfter: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- card.Serve(context.Background(), ln.Addr().String()) }()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	send := func(b []byte) {
		f := make([]byte, 2+len(b))
		binary.BigEndian.PutUint16(f, uint16(len(b)))
		copy(f[2:], b)
		if _, err := conn.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() []byte {
		h := make([]byte, 2)
		if _, err := io.ReadFull(conn, h); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint16(h))
		if _, err := io.ReadFull(conn, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	send([]byte{1}) // power on: no answer
	send([]byte{4}) // get ATR
	if atr := recv(); string(atr) != string(card.ATR()) {
		t.Fatalf("ATR %X", atr)
	}
	send([]byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
	if r := recv(); len(r) != 2 || r[0] != 0x90 {
		t.Fatalf("SELECT answered %X", r)
	}
	send([]byte{0x00, 0x84, 0x00, 0x00, 0x08}) // second APDU: the card is pulled instead
	if err := <-done; !errors.Is(err, ErrPulled) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestLoadOrCreatePKI(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreatePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreatePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.CSCA.Equal(b.CSCA) || !a.DS.Equal(b.DS) || b.DS.CheckSignatureFrom(b.CSCA) != nil {
		t.Fatal("PKI not persisted")
	}
}

// TestVPCDLockExcludesOtherProcesses checks the lock against util-linux flock(1) in another process.
func TestVPCDLockExcludesOtherProcesses(t *testing.T) {
	old := LockPath
	LockPath = filepath.Join(t.TempDir(), "vpcd.lock")
	defer func() { LockPath = old }()
	rel1, err := AcquireVPCD(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rel2, err := AcquireVPCD(context.Background()) // re-entrant within the process
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("flock", "-n", LockPath, "true").Run(); err == nil {
		t.Fatal("another process took the lock while held")
	}
	rel1()
	if err := exec.Command("flock", "-n", LockPath, "true").Run(); err == nil {
		t.Fatal("lock released while a holder remains")
	}
	rel2()
	if err := exec.Command("flock", "-n", LockPath, "true").Run(); err != nil {
		t.Fatalf("lock not released: %v", err)
	}
}

func FuzzDecodeTIFF(f *testing.F) {
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x03\x00\x00\x01\x04\x00\x01\x00\x00\x00\x02\x00\x00\x00\x01\x01\x04\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x01\x03\x00\x01\x00\x00\x00\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeTIFF(b) })
}

func TestLoadFingerTIFF(t *testing.T) {
	fg, err := LoadFingerTIFF(filepath.Join("..", "..", "..", "shared", "testdata", "fingerprints", "fvc2000_db4_b", "101_1.tif"), 7)
	if err != nil {
		t.Fatal(err)
	}
	img, err := fg.Decode()
	if err != nil || img.Bounds().Dx() != 240 || img.Bounds().Dy() != 320 {
		t.Fatalf("%v %v", err, img.Bounds())
	}
}
