// Package pcsctest holds every test and benchmark that needs the real PC/SC stack: Debian's pcscd
// with vsmartcard-vpcd, and the virtual CCCD connected to vpcd as the card. vpcd's port is fixed
// by its configuration, so these must not run in parallel with another package: this is the only
// one. TestMain starts pcscd when its socket is absent and stops what it started.
package pcsctest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"enrolldesk/reader/pa"
	"enrolldesk/reader/pcsc"
	"enrolldesk/reader/pcscd"
	"enrolldesk/reader/vcard"
)

// readerName is vpcd's FRIENDLYNAME in /etc/reader.conf.d/vpcd.
const readerName = "Virtual PCD"

func TestMain(m *testing.M) {
	// Other processes (the GUI's end-to-end bridge, cmd/vcard) may use vpcd too: hold the
	// machine-wide lock for the whole run, pcscd's lifetime included.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	release, err := vcard.AcquireVPCD(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcsctest:", err)
		os.Exit(1)
	}
	stop, err := startPCSCD()
	if err != nil {
		release()
		fmt.Fprintln(os.Stderr, "pcsctest:", err)
		os.Exit(1)
	}
	code := m.Run()
	if vcardBinDir != "" {
		_ = os.RemoveAll(vcardBinDir)
	}
	stop()
	release()
	os.Exit(code)
}

// startPCSCD starts pcscd unless one answers, and waits for the vpcd reader.
func startPCSCD() (func(), error) {
	if _, err := os.Stat("/etc/reader.conf.d/vpcd"); err != nil {
		return nil, fmt.Errorf("vsmartcard-vpcd is not installed (no /etc/reader.conf.d/vpcd): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pcscd.Ensure(ctx, readerName)
}

// ---- fixtures shared by the tests and the benchmark ----

func facePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg")
}

var (
	fixOnce sync.Once
	fix     struct {
		pki     *vcard.PKI
		citizen *vcard.Citizen
		store   *pa.TrustStore
		err     error
	}
)

func fixture(tb testing.TB) (*vcard.PKI, *vcard.Citizen, *pa.TrustStore) {
	tb.Helper()
	fixOnce.Do(func() {
		fix.pki, fix.err = vcard.NewPKI(vcard.PKIOptions{})
		if fix.err != nil {
			return
		}
		c := vcard.SampleCitizen()
		c.FaceJPEG, c.FaceWidth, c.FaceHeight, fix.err = vcard.LoadFace(facePath(), 22000)
		if fix.err != nil {
			return
		}
		fix.citizen = c
		dir, err := os.MkdirTemp("", "csca")
		if err != nil {
			fix.err = err
			return
		}
		defer os.RemoveAll(dir)
		if fix.err = fix.pki.WriteTrustStore(dir); fix.err != nil {
			return
		}
		fix.store, fix.err = pa.LoadTrustStore(dir)
	})
	if fix.err != nil {
		tb.Fatal(fix.err)
	}
	return fix.pki, fix.citizen, fix.store
}

// inserted is a virtual card connected to vpcd, and the PC/SC connection to it.
type inserted struct {
	Card   *vcard.Card
	PCSC   *pcsc.Context
	Conn   *pcsc.Card
	reader string
	cancel context.CancelFunc
	done   chan error
}

// insert connects card to vpcd, waits until pcscd sees it and connects to it over PC/SC.
func insert(tb testing.TB, card *vcard.Card) *inserted {
	tb.Helper()
	return insertCard(tb, card, true)
}

// insertCard is insert, optionally without the harness's own PC/SC connection (for commands that
// connect themselves).
func insertCard(tb testing.TB, card *vcard.Card, connect bool) *inserted {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &inserted{Card: card, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- card.Serve(ctx, vcard.DefaultVPCD) }()
	var err error
	if in.PCSC, err = pcsc.Establish(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	if in.reader, err = in.PCSC.FindReader(readerName); err != nil {
		in.close()
		tb.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := in.PCSC.WaitCard(wctx, in.reader); err != nil {
		in.close()
		tb.Fatalf("card never appeared in %q: %v", in.reader, err)
	}
	if connect {
		if in.Conn, err = in.PCSC.Connect(in.reader); err != nil {
			in.close()
			tb.Fatal(err)
		}
	}
	tb.Cleanup(in.close)
	return in
}

// close pulls the card and waits until pcscd has noticed, so the next insert starts clean.
func (in *inserted) close() {
	if in.Conn != nil {
		_ = in.Conn.Close()
		in.Conn = nil
	}
	if in.cancel != nil {
		in.cancel()
		<-in.done
		in.cancel = nil
	}
	if in.PCSC != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = in.PCSC.WaitRemoved(ctx, in.reader)
		cancel()
		_ = in.PCSC.Release()
		in.PCSC = nil
	}
}
