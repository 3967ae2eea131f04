package app

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	"enrolldesk/reader/vcard"
)

// The hot-plug tests stop and restart pcscd under a running desk, so they must not touch the
// machine's pcscd (other packages' tests, the end-to-end bridge and the demo use it). Each one
// re-runs itself in a private mount namespace where /run/pcscd (pcscd's socket directory, fixed
// at build time in pcsc-lite) is a private directory, with a private pcscd whose only reader is a
// vpcd on its own port (reader/pcsc's watch tests do the same on another port).

const (
	privateEnv  = "ENROLLDESK_APP_PCSC_PRIVATE"
	privateName = "Desk PCD"
	privatePort = 0xA5C5
)

var privateVPCD = fmt.Sprintf("127.0.0.1:%d", privatePort)

// inPrivatePCSC runs f in a child test process in its own mount namespace, with a private pcscd
// (started here, stopped by the returned function at the end of the test).
func inPrivatePCSC(t *testing.T, f func(t *testing.T, d *privateDaemon)) {
	t.Helper()
	run := os.Getenv(privateEnv)
	if run == "" {
		base := t.TempDir()
		run = filepath.Join(base, "run")
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("/run/pcscd", 0o755); err != nil {
			t.Fatal(err)
		}
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), privateEnv+"="+run)
		// Go makes / private (MS_REC|MS_PRIVATE) in a new mount namespace, so the child's bind
		// mount never reaches the machine.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		out, err := cmd.CombinedOutput()
		t.Logf("private run:\n%s", out)
		if err != nil {
			t.Fatalf("private run (a new mount namespace needs root): %v", err)
		}
		if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatal("the private run did not pass the test")
		}
		return
	}
	if err := syscall.Mount(run, "/run/pcscd", "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind private /run/pcscd: %v", err)
	}
	if _, err := os.Stat("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"); err != nil {
		t.Fatalf("vsmartcard-vpcd is not installed: %v", err)
	}
	conf := filepath.Join(filepath.Dir(run), "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("FRIENDLYNAME %q\nDEVICENAME   /dev/null:0x%X\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x%X\n",
		privateName, privatePort, privatePort)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &privateDaemon{conf: conf}
	d.start(t)
	t.Cleanup(d.stop)
	f(t, d)
}

// privateDaemon is the private pcscd.
type privateDaemon struct {
	conf string
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *privateDaemon) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("pcscd", "--foreground", "--config", p.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pcscd: %v", err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	done := p.done
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			t.Fatal("private pcscd exited at once")
		default:
		}
		if c, err := pcsc.Establish(); err == nil {
			_, ferr := c.FindReader(privateName)
			_ = c.Release()
			if ferr == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("private pcscd: reader not listed within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *privateDaemon) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
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

// servedCard is the virtual CCCD connected to the private vpcd; it reconnects whenever vpcd
// drops it (pcscd restarting reloads vpcd) until pulled.
type servedCard struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func serveCard(card *vcard.Card) *servedCard {
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedCard{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			if err := card.Serve(ctx, privateVPCD); err != nil && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}()
	return s
}

func (s *servedCard) pull() {
	s.cancel()
	<-s.done
}

// virtualCard personalises the sample citizen (ID 001199012345, born 15/03/1999, card valid to 15/03/2024, CAN
// 482915) under a fresh test CSCA and returns the card and the CSCA trust store.
func virtualCard(t *testing.T) (*vcard.Card, *pa.TrustStore) {
	t.Helper()
	pki, err := vcard.NewPKI(vcard.PKIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.WriteTrustStore(dir); err != nil {
		t.Fatal(err)
	}
	trust, err := pa.LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	face := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "faces", "lfw", "Hu_Jintao", "Hu_Jintao_0001.jpg")
	c := vcard.SampleCitizen()
	// An ID number consistent with her sex and century (Circular 07/2016/TT-BCA art. 7), as the
	// end-to-end bridge's citizen.
	c.IDNumber = "001199012345"
	c.VN.IDNumber = c.IDNumber
	if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(face, 22000); err != nil {
		t.Fatal(err)
	}
	// PACE with brainpoolP256r1 (parameter id 13, BSI TR-03110 part 3 table 4), as cmd/vcard serves.
	card, err := vcard.Personalise(c, pki, vcard.Options{PACEParamID: 13})
	if err != nil {
		t.Fatal(err)
	}
	return card, trust
}

// eventLog records the events the window would receive.
type eventLog struct {
	states chan CardState
	mu     sync.Mutex
	onCard func(CardProgress)
	reader []DeviceStatus
}

func (l *eventLog) Emit(name string, data any) {
	switch name {
	case EventCardState:
		l.states <- data.(CardState)
	case EventCard:
		l.mu.Lock()
		f := l.onCard
		l.mu.Unlock()
		if f != nil {
			f(data.(CardProgress))
		}
	case EventDevices:
		l.mu.Lock()
		l.reader = data.([]DeviceStatus)
		l.mu.Unlock()
	}
}

// await reads card states until want arrives.
func (l *eventLog) await(t *testing.T, want string) CardState {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case s := <-l.states:
			t.Logf("card state %s %q", s.State, s.Reader)
			if s.State == want {
				return s
			}
		case <-deadline:
			t.Fatalf("card state %q not reported within 30 s", want)
		}
	}
}

func hotplugDesk(t *testing.T, trust *pa.TrustStore) (*Desk, *eventLog) {
	t.Helper()
	d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Card: &PCSCReader{Match: privateName, Trust: trust}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.Start(ctx)
	t.Cleanup(func() {
		cancel()
		d.Stop()
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	log := &eventLog{states: make(chan CardState, 64)}
	t.Cleanup(d.Events.Attach(log))
	loggedIn(t, d)
	return d, log
}

// TestCardStepFollowsTheReaderAndPCSCD: the card step and the device panel follow the card being
// placed and lifted and pcscd stopping and coming back, without a Reconnect; after pcscd is back
// a read succeeds (every read establishes its PC/SC context afresh), here with the key from the
// card's QR code whose first derived expiry is not the card's, so the next candidate is used.
func TestCardStepFollowsTheReaderAndPCSCD(t *testing.T) {
	inPrivatePCSC(t, func(t *testing.T, daemon *privateDaemon) {
		card, trust := virtualCard(t)
		d, log := hotplugDesk(t, trust)

		r := d.Devices.CardState()
		if !r.OK || r.Data.(CardState).State != CardAbsent || !strings.HasPrefix(r.Data.(CardState).Reader, privateName) {
			t.Fatalf("empty reader: %+v %+v", r.Data, r.Error)
		}
		served := serveCard(card)
		defer func() { served.pull() }()
		log.await(t, CardPresent)
		if st := d.Devices.Status(); !st.OK || st.Data.([]DeviceStatus)[0].State != DeviceReady {
			t.Fatalf("device panel with a card: %+v", st.Data)
		}

		daemon.stop()
		log.await(t, CardNoService)
		log.mu.Lock()
		panel := log.reader
		log.mu.Unlock()
		if len(panel) != 1 || panel[0].Kind != "reader" || panel[0].State != DeviceMissing {
			t.Fatalf("device panel event while pcscd is down: %+v", panel)
		}
		daemon.start(t)
		log.await(t, CardPresent)

		if r := d.Enrollment.Start(); !r.OK {
			t.Fatal(r.Error)
		}
		// Issued 01/06/2022, within two years before the 25th birthday: the first candidate is the
		// 40th birthday (2039), which the chip refuses; the 25th (the card's) opens it.
		v := viewOf(t, d.Enrollment.ReadCardQR(QRKey{IDNumber: "001199012345", DateOfBirth: "15/03/1999", DateOfIssue: "01/06/2022"}))
		if v.Chip == nil || !v.Chip.Verdict.Genuine || v.Chip.IDNumber != "001199012345" || v.Chip.Access == "" {
			t.Fatalf("chip after pcscd came back: %+v", v.Chip)
		}
	})
}

// TestCardPulledMidReadLeavesNoPartialResult: the card leaves the reader as DG2 is being read;
// the wizard answers card_removed and keeps no chip data; placed again, it reads.
func TestCardPulledMidReadLeavesNoPartialResult(t *testing.T) {
	inPrivatePCSC(t, func(t *testing.T, _ *privateDaemon) {
		card, trust := virtualCard(t)
		d, log := hotplugDesk(t, trust)
		if r := d.Devices.CardState(); !r.OK {
			t.Fatal(r.Error)
		}
		served := serveCard(card)
		log.await(t, CardPresent)
		if r := d.Enrollment.Start(); !r.OK {
			t.Fatal(r.Error)
		}
		var once sync.Once
		pulled := make(chan struct{})
		log.mu.Lock()
		log.onCard = func(p CardProgress) {
			t.Logf("progress %s %d/%d", p.File, p.Read, p.Total)
			if p.File == "DG2" {
				once.Do(func() {
					served.pull()
					close(pulled)
				})
			}
		}
		log.mu.Unlock()
		r := d.Enrollment.ReadCard(CardKey{CAN: "482915"})
		select {
		case <-pulled:
		default:
			t.Fatalf("the read ended before DG2: %+v", r.Error)
		}
		if r.OK || r.Error.Code != CodeCardRemoved {
			t.Fatalf("read with the card pulled: %+v", r.Error)
		}
		if v := viewOf(t, d.Enrollment.Current()); v.Chip != nil || v.Step != StepCard {
			t.Fatalf("partial result kept: %+v", v)
		}
		log.await(t, CardAbsent)
		log.mu.Lock()
		log.onCard = nil
		log.mu.Unlock()
		served = serveCard(card)
		defer served.pull()
		log.await(t, CardPresent)
		if v := viewOf(t, d.Enrollment.ReadCard(CardKey{CAN: "482915"})); v.Chip == nil || !v.Chip.Verdict.Genuine {
			t.Fatalf("read after the card was placed again: %+v", v.Chip)
		}
	})
}

// TestReadWaitsForTheCard: "place the card": a read started on an empty reader waits for the
// card and goes on when it is placed.
func TestReadWaitsForTheCard(t *testing.T) {
	inPrivatePCSC(t, func(t *testing.T, _ *privateDaemon) {
		card, trust := virtualCard(t)
		d, log := hotplugDesk(t, trust)
		if r := d.Devices.CardState(); !r.OK || r.Data.(CardState).State != CardAbsent {
			t.Fatalf("%+v", r)
		}
		if r := d.Enrollment.Start(); !r.OK {
			t.Fatal(r.Error)
		}
		var served *servedCard
		placed := make(chan struct{})
		go func() {
			time.Sleep(time.Second)
			served = serveCard(card)
			close(placed)
		}()
		r := d.Enrollment.ReadCard(CardKey{CAN: "482915"})
		<-placed
		defer served.pull()
		v := viewOf(t, r)
		if v.Chip == nil || !v.Chip.Verdict.Genuine {
			t.Fatalf("%+v", v.Chip)
		}
		log.await(t, CardPresent)
	})
}

func TestCardQRWithoutACameraOrWithBadData(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	if r := d.Enrollment.ScanCardQR(); r.OK || r.Error.Code != CodeConflict {
		t.Fatalf("scan without an enrollment: %+v", r.Error)
	}
	if r := d.Enrollment.Start(); !r.OK {
		t.Fatal(r.Error)
	}
	f := wantFault(t, d.Enrollment.ScanCardQR(), CodeDeviceMissing)
	if f.Params["device"] != "camera" {
		t.Fatalf("%+v", f)
	}
	for _, k := range []QRKey{
		{IDNumber: "00109901234", DateOfBirth: "15/03/1999", DateOfIssue: "20/04/2021"},
		{IDNumber: "001099012345", DateOfBirth: "1999-03-15", DateOfIssue: "20/04/2021"},
		{IDNumber: "001099012345", DateOfBirth: "15/03/1999", DateOfIssue: "31/02/2021"},
		{IDNumber: "001099012345", DateOfBirth: "15/03/1999", DateOfIssue: "20/04/1990"},
	} {
		if r := d.Enrollment.ReadCardQR(k); r.OK || r.Error.Code != CodeInvalid {
			t.Errorf("%+v accepted: %+v", k, r.Error)
		}
	}
	// Well-formed, but the desk has no reader: it says so.
	f = wantFault(t, d.Enrollment.ReadCardQR(QRKey{IDNumber: "001 099 012 345", DateOfBirth: "15/03/1999", DateOfIssue: "20/04/2021"}), CodeDeviceMissing)
	if f.Params["device"] != "reader" {
		t.Fatalf("%+v", f)
	}
}

// qrCamera is a camera whose QR scan answers what the test says (the scan itself is tested on the
// real clip in desk/wire).
type qrCamera struct {
	failingCamera
	q   *reader.QRData
	err error
}

func (c qrCamera) ScanCardQR(ctx context.Context) (*reader.QRData, error) {
	if c.err != nil {
		return nil, c.err
	}
	return c.q, nil
}

func TestScanCardQRAnswers(t *testing.T) {
	q, err := reader.ParseQR("001099012345|013456789|Nguyễn Thị Hương|15031999|Nữ|Số 12 Phố Hàng Bạc, Hà Nội|20042021")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cam  qrCamera
		code string
	}{
		{"decoded", qrCamera{q: q}, ""},
		{"card timeout", qrCamera{err: fmt.Errorf("qrscan: %w", context.DeadlineExceeded)}, CodeQRNone},
		{"foreign code", qrCamera{err: &CodedError{Code: CodeQRNotCCCD, Err: errors.New("not a CCCD")}}, CodeQRNotCCCD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Face: tc.cam})
			if err != nil {
				t.Fatal(err)
			}
			d.Start(context.Background())
			defer d.Close()
			loggedIn(t, d)
			if r := d.Enrollment.Start(); !r.OK {
				t.Fatal(r.Error)
			}
			r := d.Enrollment.ScanCardQR()
			if tc.code != "" {
				wantFault(t, r, tc.code)
				return
			}
			v, ok := r.Data.(QRView)
			if !r.OK || !ok {
				t.Fatalf("%+v", r)
			}
			want := QRView{IDNumber: "001099012345", FullName: "Nguyễn Thị Hương", DateOfBirth: "15/03/1999", Sex: "Nữ",
				DateOfIssue: "20/04/2021", DateOfExpiry: "15/03/2024"}
			if v != want {
				t.Fatalf("view %+v, want %+v", v, want)
			}
		})
	}
}
