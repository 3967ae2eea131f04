package wire

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/app"
	"enrolldesk/reader"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pcscd"
	"enrolldesk/reader/vcard"
)

// vpcdReader is vsmartcard-vpcd's FRIENDLYNAME in /etc/reader.conf.d/vpcd.
const vpcdReader = "Virtual PCD"

// withPCSCD takes the machine-wide vpcd lock, starts pcscd when none answers (stopping it at the
// end of the test) and waits for vpcd's reader.
func withPCSCD(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	release, err := vcard.AcquireVPCD(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	if _, err := os.Stat("/etc/reader.conf.d/vpcd"); err != nil {
		t.Fatalf("vsmartcard-vpcd is not installed: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop, err := pcscd.Ensure(ctx, vpcdReader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// serveCard personalises the sample citizen with a face from shared/testdata, serves the card to
// vpcd until the test ends and returns the citizen and the trust store of its test CSCA.
func serveCard(t *testing.T) (*vcard.Citizen, *pa.TrustStore) {
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
	c := vcard.SampleCitizen()
	if c.FaceJPEG, c.FaceWidth, c.FaceHeight, err = vcard.LoadFace(blix("0003"), 22000); err != nil {
		t.Fatal(err)
	}
	card, err := vcard.Personalise(c, pki, vcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := card.Serve(ctx, vcard.DefaultVPCD); err != nil && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c, trust
}

func cardClip(t *testing.T, qrText string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "card.avi")
	if err := WriteCardClip(p, CardFront{QR: qrText, Photo: blix("0003"), Frames: 6}, 10); err != nil {
		t.Fatal(err)
	}
	return p
}

func faultCode(err error) string {
	var ce *app.CodedError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

// TestCardQRFromCameraOpensTheChip: the simulated desk camera shows the card front whose QR code
// carries the citizen's DG13 data; the camera seam reads it, and the key derived from it (expiry
// computed from birth and issue) opens the virtual CCCD through pcscd with a genuine verdict.
func TestCardQRFromCameraOpensTheChip(t *testing.T) {
	withPCSCD(t)
	citizen, trust := serveCard(t)
	text := CCCDQRText(citizen.VN)
	if want := "001099012345|013456789|Nguyễn Thị Hương|15031999|Nữ|"; text[:len(want)] != want {
		t.Fatalf("QR text %q", text)
	}
	cam := &CameraFace{Source: face.Source{Name: cardClip(t, text)}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := cam.ScanCardQR(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q.ID != citizen.IDNumber || q.Name != citizen.VN.FullName || q.DateOfBirth.Format("02/01/2006") != citizen.VN.DateOfBirth ||
		q.DateOfIssue.Format("02/01/2006") != citizen.VN.DateOfIssue {
		t.Fatalf("decoded %+v", q)
	}
	keys := q.Keys()
	if len(keys) == 0 || keys[0].DateOfExpiry != citizen.DateOfExpiry {
		t.Fatalf("first derived key %+v, card expires %s", keys, citizen.DateOfExpiry)
	}
	r := &app.PCSCReader{Match: vpcdReader, Trust: trust}
	data, verdict, err := r.Read(ctx, reader.MRZKey(keys[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if data.VN == nil || data.VN.IDNumber != citizen.IDNumber || !verdict.Genuine() {
		t.Fatalf("chip %+v genuine %v", data.VN, verdict.Genuine())
	}
}

func TestCardQRRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name string
		cam  *CameraFace
		code string
	}{
		{"no camera", &CameraFace{}, app.CodeDeviceMissing},
		{"camera gone", &CameraFace{Source: face.Source{Name: filepath.Join(t.TempDir(), "none.avi")}}, app.CodeDeviceMissing},
		{"no code", &CameraFace{Source: face.Source{Name: cardClip(t, "")}}, app.CodeQRNone},
		{"foreign code", &CameraFace{Source: face.Source{Name: cardClip(t, "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html")}}, app.CodeQRNotCCCD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.cam.ScanCardQR(ctx)
			if q != nil || faultCode(err) != tc.code {
				t.Fatalf("got %+v, %v (code %q), want code %q", q, err, faultCode(err), tc.code)
			}
		})
	}
}

// TestCardQRScanStopsWithTheContext: a live camera that never shows a code ends when the
// caller's deadline passes (the wizard's card timeout), without leaking the stream.
func TestCardQRScanStopsWithTheContext(t *testing.T) {
	cam := &CameraFace{Source: face.Source{Name: cardClip(t, ""), FPS: 10, Live: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := cam.ScanCardQR(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v after the deadline", d)
	}
}
