// Package cardcli offers the chip reader's headless commands (`enrolldesk card read`).
package cardcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"enrolldesk/desk/cli"
	"enrolldesk/reader"
	"enrolldesk/reader/bac"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/faceimg"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/pcsc"
	"enrolldesk/reader/qrscan"
)

// Commands returns the card commands.
func Commands() []cli.Command {
	return []cli.Command{{
		Path:    "card read",
		Summary: "read and prove a chip ID card; print the verdict and DG13 as JSON, save the photo",
		Run:     runRead,
	}}
}

// Result is what `card read` prints.
type Result struct {
	Genuine    bool        `json:"genuine"`
	Verdict    *pa.Verdict `json:"verdict"`
	DG13       any         `json:"dg13,omitempty"`
	MRZ        any         `json:"mrz,omitempty"`
	APDUs      int         `json:"apdus"`
	Extended   bool        `json:"extended_length"`
	DurationMS int64       `json:"duration_ms"`
	Photo      string      `json:"photo,omitempty"`
	PhotoMIME  string      `json:"photo_mime,omitempty"`
	// Fingers lists the DG3 finger positions read (ISO/IEC 19794-4 codes), after terminal
	// authentication.
	Fingers []int `json:"fingers,omitempty"`
}

func runRead(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("card read")
	readerName := fs.String("reader", "", "part of the PC/SC reader name (default: the first reader)")
	id := fs.String("id", "", "12-digit citizen ID number")
	dob := fs.String("dob", "", "date of birth (YYMMDD or DD/MM/YYYY)")
	doe := fs.String("doe", "", "date of expiry (YYMMDD or DD/MM/YYYY)")
	mrz := fs.String("mrz", "", "the MRZ as typed (TD1, 90 characters)")
	qr := fs.String("qr", "", "the text of the QR code on the card front")
	qrImage := fs.String("qr-image", "", "a photo of the card front (JPEG/PNG): its QR code gives the access key")
	qrCamera := fs.String("qr-camera", "", "read the card front's QR code from a camera (V4L2 index or device) or a video file, up to -wait")
	can := fs.String("can", "", "6-digit card access number (PACE)")
	trust := fs.String("trust", "", "folder of CSCA certificates (and CRLs) to trust")
	photo := fs.String("photo", "", "save the chip photo to this file")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for a card")
	short := fs.Bool("short", false, "short APDUs only (Le 0xE0)")
	forceBAC := fs.Bool("bac", false, "use BAC even when the card offers PACE")
	terminal := fs.String("terminal", "", "folder of EAC terminal credentials (dv.cvcert, is.cvcert, is-key.pem) to read DG3")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", cli.ErrUsage, err)
	}
	var keys []reader.AccessKey
	switch {
	case *can != "":
		keys = append(keys, reader.CANKey(*can))
	case *mrz != "":
		k, err := reader.KeyFromMRZ(*mrz)
		if err != nil {
			return fmt.Errorf("%w: %v", cli.ErrUsage, err)
		}
		keys = append(keys, reader.MRZKey(k))
	case *qr != "" || *qrImage != "" || *qrCamera != "":
		q, err := readQR(ctx, *qr, *qrImage, *qrCamera, *wait)
		if err != nil {
			return err
		}
		for _, k := range q.Keys() {
			keys = append(keys, reader.MRZKey(k))
		}
	case *id != "":
		k, err := reader.KeyFromCCCD(*id, *dob, *doe)
		if err != nil {
			return fmt.Errorf("%w: %v", cli.ErrUsage, err)
		}
		keys = append(keys, reader.MRZKey(k))
	default:
		return fmt.Errorf("%w: give -id/-dob/-doe, -mrz, -qr, -qr-image, -qr-camera or -can", cli.ErrUsage)
	}
	opts := reader.Options{}
	if *trust != "" {
		ts, err := pa.LoadTrustStore(*trust)
		if err != nil {
			return err
		}
		opts.TrustStore = ts
	}
	if *short {
		opts.Mode = reader.Short
	}
	if *forceBAC {
		opts.Access = reader.AccessBAC
	}
	if *terminal != "" {
		t, err := eac.LoadTerminal(*terminal)
		if err != nil {
			return err
		}
		opts.Terminal = t
	}

	pc, err := pcsc.Establish()
	if err != nil {
		return err
	}
	defer pc.Release()
	name, err := pc.FindReader(*readerName)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	if err := pc.WaitCard(wctx, name); err != nil {
		return fmt.Errorf("no card in %q: %w", name, err)
	}
	card, err := pc.Connect(name)
	if err != nil {
		return err
	}
	defer card.Close()
	if opts.Mode != reader.Short {
		if opts.ATR, err = card.ATR(); err != nil {
			return err
		}
	}
	start := time.Now()
	var data *reader.ChipData
	var v *pa.Verdict
	for _, k := range keys {
		// Start every attempt from a warm reset: an earlier session may have left the chip inside
		// the application or with secure messaging keys.
		if err := card.Reset(); err != nil {
			return err
		}
		data, v, err = reader.Read(ctx, card, k, opts)
		if err == nil || !(errors.Is(err, bac.ErrAuth) || errors.Is(err, pace.ErrAuth)) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("read card: %w", err)
	}
	res := Result{Genuine: v.Genuine(), Verdict: v, APDUs: data.APDUs, Extended: data.Extended, DurationMS: time.Since(start).Milliseconds()}
	if data.VN != nil {
		res.DG13 = data.VN
	}
	if data.MRZ != nil {
		res.MRZ = data.MRZ
	}
	for _, f := range data.Fingers {
		res.Fingers = append(res.Fingers, int(f.Position))
	}
	if *photo != "" && len(data.Faces) > 0 {
		f := &data.Faces[0]
		img, mime := f.Image, f.MIME()
		if ext := strings.ToLower(filepath.Ext(*photo)); f.IsJPEG2000() && (ext == ".jpg" || ext == ".jpeg") {
			// A JPEG 2000 chip portrait asked for as JPEG: transcode (reader/faceimg, OpenCV).
			if img, err = faceimg.ToJPEG(f); err != nil {
				return fmt.Errorf("save photo: %w", err)
			}
			mime = "image/jpeg"
		}
		if err := os.WriteFile(*photo, img, 0o600); err != nil {
			return fmt.Errorf("save photo: %w", err)
		}
		res.Photo, res.PhotoMIME = *photo, mime
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}

// readQR gets the card front's QR payload from its text, a photo, or a camera or video.
func readQR(ctx context.Context, text, imagePath, camera string, wait time.Duration) (*reader.QRData, error) {
	if text != "" {
		q, err := reader.ParseQR(text)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", cli.ErrUsage, err)
		}
		return q, nil
	}
	s := qrscan.New()
	defer s.Close()
	if imagePath != "" {
		m := gocv.IMRead(imagePath, gocv.IMReadColor)
		defer m.Close()
		if m.Empty() {
			return nil, fmt.Errorf("-qr-image: cannot read %s as an image", imagePath)
		}
		q, err := s.Card(m)
		if err != nil {
			return nil, fmt.Errorf("-qr-image %s: %w", imagePath, err)
		}
		return q, nil
	}
	var src *gocv.VideoCapture
	var err error
	if n, convErr := strconv.Atoi(camera); convErr == nil {
		src, err = gocv.OpenVideoCapture(n)
	} else {
		src, err = gocv.OpenVideoCapture(camera)
	}
	if err != nil || !src.IsOpened() {
		return nil, fmt.Errorf("-qr-camera %s: cannot open: %v", camera, err)
	}
	defer src.Close()
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	q, n, err := s.Scan(sctx, src)
	if err != nil {
		return nil, fmt.Errorf("-qr-camera %s: %d frames: %w", camera, n, err)
	}
	return q, nil
}
