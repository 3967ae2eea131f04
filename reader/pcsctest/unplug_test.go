package pcsctest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"enrolldesk/reader"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pcsc"
)

var (
	vcardBinOnce sync.Once
	vcardBin     string
	vcardBinErr  error
	vcardBinDir  string // removed by TestMain
)

// buildVCard builds cmd/vcard once per test run into a temporary folder.
func buildVCard(t *testing.T) string {
	t.Helper()
	vcardBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pcsctest-vcard")
		if err != nil {
			vcardBinErr = err
			return
		}
		vcardBinDir, vcardBin = dir, filepath.Join(dir, "vcard")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", vcardBin, "enrolldesk/cmd/vcard")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			vcardBinErr = fmt.Errorf("go build cmd/vcard: %v\n%s", err, out)
		}
	})
	if vcardBinErr != nil {
		t.Fatal(vcardBinErr)
	}
	return vcardBin
}

// cardProcess is cmd/vcard running as its own process, connected to vpcd as the card.
type cardProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startCardProcess runs cmd/vcard (PACE on brainpoolP256r1 with the given extra flags) with its
// PKI in pkiDir. This test binary holds the machine-wide vpcd lock, so the child is told so.
func startCardProcess(t *testing.T, pkiDir string, extra ...string) *cardProcess {
	t.Helper()
	args := append([]string{"-pki", pkiDir, "-face", facePath(), "-lock-held", "-once"}, extra...)
	cmd := exec.Command(buildVCard(t), args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &cardProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill stops the card process at once (SIGKILL: no goodbye to vpcd, the socket just closes, as
// when a card leaves the field mid-transfer) and waits for it.
func (p *cardProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestCardProcessKilledMidReadThenBack: the virtual card's process is killed in the middle of
// DG2. The read fails with pcsc.ErrCardRemoved and returns nothing (no data, no verdict). Then the
// card process starts again (the card is put back), and the same PC/SC context sees the card
// return and reads it whole.
func TestCardProcessKilledMidReadThenBack(t *testing.T) {
	pkiDir := t.TempDir()
	p := startCardProcess(t, pkiDir)
	c, err := pcsc.Establish()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	name, err := c.FindReader(readerName)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(removed bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		f := c.WaitCard
		if removed {
			f = c.WaitRemoved
		}
		if err := f(ctx, name); err != nil {
			t.Fatalf("waiting for the card (removed %v): %v", removed, err)
		}
	}
	wait(false)
	store, err := pa.LoadTrustStore(filepath.Join(pkiDir, "trust"))
	if err != nil {
		t.Fatal(err)
	}
	_, citizen, _ := fixture(t) // cmd/vcard serves the sample citizen
	conn, err := c.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	var killedAt int
	data, v, err := reader.Read(context.Background(), conn, reader.CANKey(citizen.CAN), reader.Options{
		Mode: reader.Short, TrustStore: store,
		Progress: func(file string, read, total int) {
			if file == "DG2" && killedAt == 0 && read > total/3 {
				killedAt = read
				p.kill()
			}
		},
	})
	if killedAt == 0 {
		t.Fatalf("the read never reached DG2: %v", err)
	}
	// pcsc-lite answers the first APDU after vpcd lost its card with SCARD_E_NOT_TRANSACTED (the
	// driver's communication error), later ones with SCARD_W_REMOVED_CARD; reader/pcsc reports
	// both as ErrCardRemoved. The error names the file and offset, and the reader is empty after.
	if !errors.Is(err, pcsc.ErrCardRemoved) || !strings.Contains(err.Error(), fmt.Sprintf("read DG2 at %d", killedAt)) {
		t.Fatalf("card process killed at %d bytes of DG2: %v", killedAt, err)
	}
	if data != nil || v != nil {
		t.Fatal("partial result after the card left")
	}
	t.Logf("killed at %d bytes of DG2: %v", killedAt, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := c.WaitRemoved(ctx, name); err != nil {
		t.Fatalf("pcscd still sees a card 2 s after the process died: %v", err)
	}
	cancel()
	_ = conn.Close() // the card is gone: the handle is dead, whatever Disconnect says

	// The card comes back: same context, a new connection, a whole read. (It comes back as a
	// PACE-CAM card with AES-256, so cmd/vcard's flags for those are exercised too.)
	p = startCardProcess(t, pkiDir, "-pace-mapping", "ecdh-cam", "-pace-cipher", "256")
	wait(false)
	if conn, err = c.Connect(name); err != nil {
		t.Fatal(err)
	}
	data, v, err = reader.Read(context.Background(), conn, reader.CANKey(citizen.CAN), reader.Options{TrustStore: store})
	if err != nil || !v.Genuine() || data.VN.IDNumber != citizen.IDNumber {
		t.Fatalf("read after the card came back: %v", err)
	}
	if ac, _ := v.Get(pa.CheckAccessControl); v.ChipAuthMethod != pa.ChipAuthPACECAM || !strings.Contains(ac.Reason, "chip authentication mapping") || !strings.Contains(ac.Reason, "AES-256") {
		t.Fatalf("cmd/vcard -pace-mapping ecdh-cam -pace-cipher 256: %s, chip authentication via %q", ac.Reason, v.ChipAuthMethod)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	p.kill()
	wait(true) // the next test finds the reader empty
}
