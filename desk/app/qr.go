package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"enrolldesk/reader"
)

// CardQRScanner is the optional side of the desk camera (the FaceCapturer) that reads the QR code
// printed on the front of a CCCD: the officer holds the card under the camera the face step uses.
// ScanCardQR reads frames until one carries a CCCD payload or ctx ends; it answers coded errors:
// CodeDeviceMissing (device "camera") when there is no camera, CodeQRNone when no code was found,
// CodeQRNotCCCD when only codes that are not a CCCD payload were seen. desk/wire implements it
// with reader/qrscan (cgo, OpenCV), which this package does not link.
type CardQRScanner interface {
	ScanCardQR(ctx context.Context) (*reader.QRData, error)
}

// QR error codes the frontend translates.
const (
	CodeQRNone    = "qr_none"     // no QR code was found before the card timeout
	CodeQRNotCCCD = "qr_not_cccd" // a QR code was read but it is not the front of a CCCD
)

// QRView is what the card step shows the officer to confirm after the QR code was read: the
// fields the chip's access key is made of (ICAO 9303 part 11 §4.3: document number, birth and
// expiry dates) and the name to check against the person in front of the desk. The expiry is not
// in the QR code: it is derived from birth and issue (reader.QRData.ExpiryCandidates). It goes
// to the window only, never to logs.
type QRView struct {
	IDNumber    string `json:"idNumber"`
	FullName    string `json:"fullName"`
	DateOfBirth string `json:"dateOfBirth"` // dd/mm/yyyy
	Sex         string `json:"sex"`
	DateOfIssue string `json:"dateOfIssue"` // dd/mm/yyyy
	// DateOfExpiry is the most likely expiry (dd/mm/yyyy); ReadCardQR tries the others too.
	DateOfExpiry string `json:"dateOfExpiry"`
}

// QRKey is the officer's confirmation of a QRView (possibly corrected by hand): the access key of
// ReadCardQR. Dates are dd/mm/yyyy.
type QRKey struct {
	IDNumber    string `json:"idNumber"`
	DateOfBirth string `json:"dateOfBirth"`
	DateOfIssue string `json:"dateOfIssue"`
}

const viewDate = "02/01/2006"

func qrView(q *reader.QRData) QRView {
	v := QRView{IDNumber: q.ID, FullName: q.Name, Sex: q.Sex,
		DateOfBirth: q.DateOfBirth.Format(viewDate), DateOfIssue: q.DateOfIssue.Format(viewDate)}
	if c := q.ExpiryCandidates(); len(c) > 0 {
		v.DateOfExpiry = c[0].Format(viewDate)
	}
	return v
}

// ScanCardQR reads the QR code on the front of the citizen's card with the desk camera (until it
// decodes or CardTimeout passes) and returns its data as a QRView for the officer to confirm; the
// chip is read afterwards by ReadCardQR with the confirmed data.
func (e *Enrollment) ScanCardQR() Response {
	ctx := e.ctx()
	if _, err := e.require(ctx); err != nil {
		return fail("Enrollment.ScanCardQR", err)
	}
	e.mu.Lock()
	_, err := e.active()
	e.mu.Unlock()
	if err != nil {
		return fail("Enrollment.ScanCardQR", err)
	}
	sc, canScan := e.face.(CardQRScanner)
	if !canScan {
		return fail("Enrollment.ScanCardQR", coded(CodeDeviceMissing, errors.New("no camera configured"), map[string]string{"device": "camera"}))
	}
	start := e.now()
	sctx, cancel := context.WithTimeout(ctx, CardTimeout)
	defer cancel()
	q, err := sc.ScanCardQR(sctx)
	if err != nil {
		var ce *CodedError
		switch {
		case errors.As(err, &ce):
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			// The card timeout passed without a CCCD code in view.
			err = coded(CodeQRNone, err, nil)
		case ctx.Err() != nil:
			err = fmt.Errorf("scan card QR: %w", err)
		default:
			err = coded(CodeQRNone, err, nil)
		}
		slog.Info("card QR not read", "err", err, "ms", e.now().Sub(start).Milliseconds())
		return fail("Enrollment.ScanCardQR", err)
	}
	slog.Info("card QR read", "ms", e.now().Sub(start).Milliseconds())
	return ok(qrView(q))
}

// ReadCardQR reads the chip with the access key made from the confirmed QR data: the MRZ key
// (ICAO 9303 part 11: the last 9 digits of the ID number, birth and expiry dates) for each
// derived expiry candidate in turn, most likely first, until the chip accepts one. A card that
// refuses every candidate answers CodeCardKey: the officer types the key from the card instead.
func (e *Enrollment) ReadCardQR(k QRKey) Response {
	q, err := k.data()
	if err != nil {
		return fail("Enrollment.ReadCardQR", err)
	}
	var last Response
	for i, exp := range q.ExpiryCandidates() {
		last = e.ReadCard(CardKey{IDNumber: q.ID, DateOfBirth: q.DateOfBirth.Format(viewDate), DateOfExpiry: exp.Format(viewDate)})
		if last.OK || last.Error == nil || last.Error.Code != CodeCardKey {
			return last
		}
		slog.Info("card QR key refused, trying the next expiry candidate", "candidate", i+1)
	}
	if last.Error == nil {
		return fail("Enrollment.ReadCardQR", coded(CodeCardKey, errors.New("no expiry candidate for this card"), nil))
	}
	return last
}

// data checks the confirmed fields and rebuilds the QR data the keys are derived from.
func (k QRKey) data() (*reader.QRData, error) {
	id := strings.NewReplacer(" ", "", ".", "", "-", "").Replace(k.IDNumber)
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return nil, invalid("idNumber", errors.New("the ID number has 12 digits"))
	}
	dob, err := time.Parse(viewDate, strings.TrimSpace(k.DateOfBirth))
	if err != nil {
		return nil, invalid("dateOfBirth", fmt.Errorf("date of birth: %w", err))
	}
	iss, err := time.Parse(viewDate, strings.TrimSpace(k.DateOfIssue))
	if err != nil {
		return nil, invalid("dateOfIssue", fmt.Errorf("date of issue: %w", err))
	}
	if iss.Before(dob) {
		return nil, invalid("dateOfIssue", errors.New("date of issue before the date of birth"))
	}
	return &reader.QRData{ID: id, DateOfBirth: dob, DateOfIssue: iss}, nil
}
