package pcsc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"enrolldesk/reader/vcard"
)

// These tests stop, restart and reconfigure pcscd, so they must not touch the machine's pcscd
// (other packages' tests and the demo use it). TestMain re-runs this test binary in a private
// mount namespace where /run/pcscd (pcscd's socket directory, fixed at build time in pcsc-lite
// 1.9) is a private directory, and starts a private pcscd there whose only reader is a vpcd on
// its own port, so nothing here needs the machine-wide vpcd lock either.

const (
	nsEnv = "ENROLLDESK_PCSC_PRIVATE_RUN"
	// watchReader is the FRIENDLYNAME of the private vpcd reader.
	watchReader = "Watch PCD"
	// watchPort is the private vpcd's TCP port (CHANNELID), away from the default 35963/35964.
	watchPort = 0xA5C3
)

var (
	confDir  string // the private pcscd's reader.conf.d
	vpcdAddr = fmt.Sprintf("127.0.0.1:%d", watchPort)
)

func TestMain(m *testing.M) {
	if os.Getenv(nsEnv) == "" {
		os.Exit(reexec())
	}
	run := os.Getenv(nsEnv)
	if err := syscall.Mount(run, "/run/pcscd", "", syscall.MS_BIND, ""); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test: bind private /run/pcscd:", err)
		os.Exit(1)
	}
	base := filepath.Dir(run)
	confDir = filepath.Join(base, "conf")
	conf := fmt.Sprintf("FRIENDLYNAME %q\nDEVICENAME   /dev/null:0x%X\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x%X\n",
		watchReader, watchPort, watchPort)
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		os.Exit(1)
	}
	if _, err := os.Stat("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test: vsmartcard-vpcd is not installed:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(confDir, "vpcd"), []byte(conf), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		os.Exit(1)
	}
	d, err := startDaemon()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		os.Exit(1)
	}
	daemon = d
	code := m.Run()
	daemon.stop()
	os.Exit(code)
}

// reexec runs this test binary again in a new mount namespace and returns its exit code.
func reexec() int {
	base, err := os.MkdirTemp("", "pcsc-private-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		return 1
	}
	defer os.RemoveAll(base)
	run := filepath.Join(base, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		return 1
	}
	// The mount point must exist; an empty /run/pcscd is what pcscd itself creates.
	if err := os.MkdirAll("/run/pcscd", 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcsc test:", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), nsEnv+"="+run)
	// Go makes / private (MS_REC|MS_PRIVATE) in a new mount namespace, so the child's bind
	// mount never propagates to the machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "pcsc test: private namespace (needs root / CAP_SYS_ADMIN):", err)
		return 1
	}
	return 0
}

// pcscdProc is the private pcscd.
type pcscdProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

var daemon *pcscdProc

// startDaemon starts pcscd on the private configuration and waits until its reader is listed.
func startDaemon() (*pcscdProc, error) {
	log, err := os.Create(filepath.Join(filepath.Dir(confDir), "pcscd.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("pcscd", "--foreground", "--config", confDir)
	cmd.Stdout, cmd.Stderr = log, log
	// If the test binary dies (a timeout), the private pcscd goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start pcscd: %w", err)
	}
	p := &pcscdProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); log.Close(); close(p.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("private pcscd exited at once (log %s)", log.Name())
		default:
		}
		if c, err := Establish(); err == nil {
			_, ferr := c.FindReader(watchReader)
			_ = c.Release()
			if ferr == nil {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("private pcscd: reader not listed within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *pcscdProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	// pcscd removes its socket on a clean exit; wait until nothing answers there.
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("unix", "/run/pcscd/pcscd.comm", 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

func facePath(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg")
}

func newCard(t *testing.T) *vcard.Card {
	t.Helper()
	pki, err := vcard.NewPKI(vcard.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := vcard.SampleCitizen()
	if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(facePath(t), 8000); err != nil {
		t.Fatal(err)
	}
	card, err := vcard.Personalise(c, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return card
}

// served is a virtual card connected to the private vpcd.
type served struct {
	cancel context.CancelFunc
	done   chan error
}

func serve(card *vcard.Card) *served {
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- card.Serve(ctx, vpcdAddr) }()
	return s
}

func (s *served) pull() {
	s.cancel()
	<-s.done
}

// next returns the next event, failing after a timeout.
func next(t *testing.T, ev <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ev:
		if !ok {
			t.Fatal("watcher closed its channel early")
		}
		t.Logf("event: %v %q", e.Kind, e.Reader)
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15 s")
	}
	return Event{}
}

func expect(t *testing.T, ev <-chan Event, kind EventKind) Event {
	t.Helper()
	e := next(t, ev)
	if e.Kind != kind {
		t.Fatalf("event %v (%q, %v), want %v", e.Kind, e.Reader, e.Err, kind)
	}
	if kind != ServiceLost && kind != ServiceBack && e.Reader == "" {
		t.Fatalf("%v without a reader name", kind)
	}
	return e
}

// selectEMRTD connects to the card through a fresh context and selects the eMRTD application
// (ICAO 9303-10 §3.6.1 AID A0 00 00 02 47 10 01), proving the card is usable after the event.
func selectEMRTD(t *testing.T, reader string) {
	t.Helper()
	c, err := Establish()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	k, err := c.Connect(reader)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	rsp, err := k.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
	if err != nil || !bytes.Equal(rsp[len(rsp)-2:], []byte{0x90, 0x00}) {
		t.Fatalf("select eMRTD application: % X, %v", rsp, err)
	}
}

// TestWatch drives the watcher through every change the desk meets: card in and out, pcscd stopped (readers and card reported gone, service lost) and
// restarted (context re-established, reader and card found again), then cancellation. It runs
// with pcsc-lite's PnP notification and with the polling fallback.
func TestWatch(t *testing.T) {
	for _, pnp := range []bool{true, false} {
		t.Run(map[bool]string{true: "pnp", false: "polling"}[pnp], func(t *testing.T) {
			testWatch(t, !pnp)
		})
	}
}

func testWatch(t *testing.T, noPnP bool) {
	card := newCard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := Watch(ctx, WatchOptions{Filter: watchReader + " 00 00", Step: 100 * time.Millisecond, Retry: 100 * time.Millisecond, noPnP: noPnP})
	reader := expect(t, ev, ReaderAdded).Reader

	// Card in and out.
	s := serve(card)
	if e := expect(t, ev, CardInserted); !bytes.Equal(e.ATR, card.ATR()) || e.Reader != reader {
		t.Fatalf("inserted in %q with ATR % X, want %q and % X", e.Reader, e.ATR, reader, card.ATR())
	}
	selectEMRTD(t, reader)
	s.pull()
	expect(t, ev, CardRemoved)

	// A reader unplugged and plugged back: pcsc-lite 1.9's SIGUSR1 no longer re-reads reader.conf,
	// so the one way to make a serial (vpcd) reader vanish is to stop pcscd, which is also the
	// harder case (the context dies with it and must be re-established).
	s = serve(card)
	expect(t, ev, CardInserted)

	// pcscd stops with the card inside, then comes back.
	daemon.stop()
	expect(t, ev, CardRemoved)
	expect(t, ev, ReaderRemoved)
	if e := expect(t, ev, ServiceLost); e.Err == nil {
		t.Fatal("service lost without a reason")
	}
	s.pull() // vpcd went with pcscd; the card's connection is closed
	d, err := startDaemon()
	if err != nil {
		t.Fatal(err)
	}
	daemon = d
	expect(t, ev, ServiceBack)
	if e := expect(t, ev, ReaderAdded); e.Reader != reader {
		t.Fatalf("after restart the reader is %q, want %q", e.Reader, reader)
	}
	s = serve(card)
	expect(t, ev, CardInserted)
	selectEMRTD(t, reader)
	s.pull()
	expect(t, ev, CardRemoved)

	// Cancellation closes the channel promptly, with nothing more to say.
	cancel()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				return
			}
			t.Fatalf("event %v after cancellation", e.Kind)
		case <-deadline:
			t.Fatal("watcher still running 2 s after cancellation")
		}
	}
}

// TestWatchStartsWithoutPCSCD: a desk that boots before pcscd reports the service lost at once,
// then the service, the reader and the card as they come; cancellation while pcscd is down stops
// the watcher too.
func TestWatchStartsWithoutPCSCD(t *testing.T) {
	daemon.stop()
	var d *pcscdProc
	defer func() {
		if d != nil {
			d.stop() // stopping twice is harmless
		}
		nd, err := startDaemon()
		if err != nil {
			t.Fatal(err)
		}
		daemon = nd
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := Watch(ctx, WatchOptions{Filter: watchReader + " 00 00", Step: 100 * time.Millisecond, Retry: 100 * time.Millisecond})
	if e := expect(t, ev, ServiceLost); e.Err == nil {
		t.Fatal("no reason given")
	}
	var err error
	if d, err = startDaemon(); err != nil {
		t.Fatal(err)
	}
	expect(t, ev, ServiceBack)
	expect(t, ev, ReaderAdded)
	card := newCard(t)
	s := serve(card)
	expect(t, ev, CardInserted)
	s.pull()
	expect(t, ev, CardRemoved)
	d.stop()
	expect(t, ev, ReaderRemoved)
	expect(t, ev, ServiceLost)
	cancel()
	select {
	case _, ok := <-ev:
		if ok {
			t.Fatal("event after cancellation")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("watcher still running 2 s after cancellation with pcscd down")
	}
}
