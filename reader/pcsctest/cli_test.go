package pcsctest

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"rsc.io/qr"

	"enrolldesk/desk/cli"
	"enrolldesk/reader/cardcli"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/lds"
	"enrolldesk/reader/vcard"
)

// TestCardReadCommand runs `enrolldesk card read` against the virtual card through pcscd: with the
// three typed fields, with the QR text whose derived expiry is wrong at first (the command falls
// back to the neighbouring candidate), with the CAN, and with a photo of the card front's QR code.
func TestCardReadCommand(t *testing.T) {
	pki, base, _ := fixture(t)
	citizen := *base
	_, file, _, _ := runtime.Caller(0)
	finger, err := vcard.LoadFingerTIFF(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b", "103_2.tif"), 6)
	if err != nil {
		t.Fatal(err)
	}
	citizen.Fingers = []lds.Finger{finger}
	ep, err := vcard.NewEACPKI("VN")
	if err != nil {
		t.Fatal(err)
	}
	term, err := ep.Terminal("VNDESK00001")
	if err != nil {
		t.Fatal(err)
	}
	card, err := vcard.Personalise(&citizen, pki, vcard.Options{PACEParamID: 13, CVCA: ep.CVCA})
	if err != nil {
		t.Fatal(err)
	}
	insertCard(t, card, false)
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust")
	if err := pki.WriteTrustStore(trust); err != nil {
		t.Fatal(err)
	}
	termDir := filepath.Join(dir, "terminal")
	if err := eac.SaveTerminal(termDir, term); err != nil {
		t.Fatal(err)
	}
	// The card front's QR code as a photo (drawn by an independent encoder, rsc.io/qr).
	front, err := qr.Encode(citizen.IDNumber+"|013456789|Nguyễn Thị Hương|15031999|Nữ|Số 12 Phố Hàng Bạc, Hà Nội|20042021", qr.M)
	if err != nil {
		t.Fatal(err)
	}
	front.Scale = 6
	qrPNG := filepath.Join(dir, "front.png")
	if err := os.WriteFile(qrPNG, front.PNG(), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := [][]string{
		{"card", "read", "-reader", readerName, "-id", citizen.IDNumber, "-dob", "15/03/1999", "-doe", citizen.DateOfExpiry, "-trust", trust, "-photo", filepath.Join(dir, "face.jpg")},
		{"card", "read", "-reader", readerName, "-qr", citizen.IDNumber + "|013456789|Nguyễn Thị Hương|15031999|Nữ|Hà Nội|01062023", "-trust", trust, "-bac"},
		{"card", "read", "-reader", readerName, "-can", citizen.CAN, "-trust", trust, "-short", "-terminal", termDir},
		{"card", "read", "-reader", readerName, "-qr-image", qrPNG, "-trust", trust},
	}
	for i, args := range runs {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, args, cardcli.Commands())
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errb.String())
		}
		var res struct {
			Genuine bool `json:"genuine"`
			DG13    struct {
				FullName   string `json:"full_name"`
				MotherName string `json:"mother_name"`
			} `json:"dg13"`
			Verdict struct {
				Checks []struct{ Name, Status, Reason string } `json:"checks"`
			} `json:"verdict"`
			Photo   string `json:"photo"`
			Fingers []int  `json:"fingers"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
		if !res.Genuine || res.DG13.FullName != "Nguyễn Thị Hương" || res.DG13.MotherName != "Trần Thị Lan" || len(res.Verdict.Checks) < 8 {
			t.Fatalf("run %d: %s", i, out.String())
		}
		if i == 2 && (len(res.Fingers) != 1 || res.Fingers[0] != 6) {
			t.Fatalf("run %d: fingers %v", i, res.Fingers)
		}
		if i == 0 {
			f, err := os.Open(res.Photo)
			if err != nil {
				t.Fatal(err)
			}
			img, err := jpeg.Decode(f)
			f.Close()
			if err != nil || img.Bounds().Dx() != citizen.FaceWidth {
				t.Fatalf("photo: %v", err)
			}
		}
	}
	// A wrong key is a clear failure, exit 1.
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, []string{"card", "read", "-reader", readerName, "-can", "000000"}, cardcli.Commands())
	if code != 1 || !bytes.Contains(errb.Bytes(), []byte("authentication failed")) || out.Len() != 0 {
		t.Fatalf("wrong CAN: exit %d %q %q", code, errb.String(), out.String())
	}
}
