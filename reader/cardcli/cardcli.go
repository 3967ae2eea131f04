// Package cardcli offers the chip reader's headless commands (`enrolldesk card read`).
package cardcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"enrolldesk/desk/cli"
	"enrolldesk/reader"
	"enrolldesk/reader/bac"
	"enrolldesk/reader/eac"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pace"
	"enrolldesk/reader/pcsc"
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
	case *qr != "":
		q, err := reader.ParseQR(*qr)
		if err != nil {
			return fmt.Errorf("%w: %v", cli.ErrUsage, err)
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
		return fmt.Errorf("%w: give -id/-dob/-doe, -mrz, -qr or -can", cli.ErrUsage)
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
		if err := os.WriteFile(*photo, data.Faces[0].Image, 0o600); err != nil {
			return fmt.Errorf("save photo: %w", err)
		}
		res.Photo, res.PhotoMIME = *photo, data.Faces[0].MIME()
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}
