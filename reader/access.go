package reader

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"enrolldesk/reader/bac"
	"enrolldesk/reader/lds"
)

// KeyFromCCCD builds the access key from the three fields an officer types: the 12-digit citizen ID
// (the MRZ document number is its last 9 digits), the date of birth and the date of expiry, both
// YYMMDD or DD/MM/YYYY.
func KeyFromCCCD(id, dob, doe string) (bac.Key, error) {
	id = strings.TrimSpace(id)
	if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
		return bac.Key{}, fmt.Errorf("access key: ID number %q is not 12 digits", id)
	}
	b, err := yymmdd(dob)
	if err != nil {
		return bac.Key{}, fmt.Errorf("access key: date of birth: %w", err)
	}
	e, err := yymmdd(doe)
	if err != nil {
		return bac.Key{}, fmt.Errorf("access key: date of expiry: %w", err)
	}
	return bac.Key{DocumentNumber: id[3:], DateOfBirth: b, DateOfExpiry: e}, nil
}

func yymmdd(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 6 && strings.Trim(s, "0123456789") == "" {
		if _, err := time.Parse("060102", s); err != nil {
			return "", err
		}
		return s, nil
	}
	t, ok := lds.ParseVNDate(s)
	if !ok {
		return "", fmt.Errorf("%q is neither YYMMDD nor DD/MM/YYYY", s)
	}
	return t.Format("060102"), nil
}

// KeyFromMRZ builds the access key from a typed MRZ (TD1: three lines of 30 characters, with or
// without line breaks). Check digits must verify, so that a typo is caught before the chip is asked.
func KeyFromMRZ(text string) (bac.Key, error) {
	text = strings.ToUpper(strings.Join(strings.Fields(text), ""))
	m, err := lds.ParseMRZ(text)
	if err != nil {
		return bac.Key{}, fmt.Errorf("access key: %w", err)
	}
	if !m.ChecksOK {
		return bac.Key{}, errors.New("access key: an MRZ check digit does not verify (typing error?)")
	}
	return m.AccessKey(), nil
}

// QRData is the QR code printed on the front of a CCCD: ID|old ID|name|ddmmyyyy birth|sex|address|
// ddmmyyyy issue (pipe separated; no expiry).
type QRData struct {
	ID, OldID, Name, Sex, Address string
	DateOfBirth, DateOfIssue      time.Time
}

// ParseQR decodes the CCCD front QR text.
func ParseQR(s string) (*QRData, error) {
	f := strings.Split(strings.TrimSpace(s), "|")
	if len(f) < 7 {
		return nil, fmt.Errorf("CCCD QR: %d fields, want 7", len(f))
	}
	q := &QRData{ID: f[0], OldID: f[1], Name: f[2], Sex: f[4], Address: f[5]}
	var err error
	if q.DateOfBirth, err = time.Parse("02012006", f[3]); err != nil {
		return nil, fmt.Errorf("CCCD QR: date of birth: %w", err)
	}
	if q.DateOfIssue, err = time.Parse("02012006", f[6]); err != nil {
		return nil, fmt.Errorf("CCCD QR: date of issue: %w", err)
	}
	if len(q.ID) != 12 || strings.Trim(q.ID, "0123456789") != "" {
		return nil, fmt.Errorf("CCCD QR: ID %q is not 12 digits", q.ID)
	}
	return q, nil
}

// ExpiryCandidates derives the card's expiry from birth and issue dates, most likely first. A CCCD
// expires on the holder's 25th, 40th or 60th birthday, the first after issue; a card issued within
// two years before one of them lasts to the next; past 60 it does not expire. The neighbouring
// milestones follow as fallbacks.
func (q *QRData) ExpiryCandidates() []time.Time {
	ages := []int{25, 40, 60}
	var out []time.Time
	seen := map[time.Time]bool{}
	add := func(t time.Time) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	primary := -1
	for i, a := range ages {
		bd := q.DateOfBirth.AddDate(a, 0, 0)
		if bd.After(q.DateOfIssue) {
			if bd.Before(q.DateOfIssue.AddDate(2, 0, 0)) && i+1 < len(ages) {
				i++
			}
			primary = i
			break
		}
	}
	if primary >= 0 {
		add(q.DateOfBirth.AddDate(ages[primary], 0, 0))
		for d := 1; d < len(ages); d++ {
			for _, j := range []int{primary - d, primary + d} {
				if j >= 0 && j < len(ages) {
					add(q.DateOfBirth.AddDate(ages[j], 0, 0))
				}
			}
		}
	}
	for _, a := range ages {
		add(q.DateOfBirth.AddDate(a, 0, 0))
	}
	return out
}

// Keys returns the access keys to try for this card, in the order of ExpiryCandidates.
func (q *QRData) Keys() []bac.Key {
	var out []bac.Key
	for _, e := range q.ExpiryCandidates() {
		out = append(out, bac.Key{DocumentNumber: q.ID[3:], DateOfBirth: q.DateOfBirth.Format("060102"), DateOfExpiry: e.Format("060102")})
	}
	return out
}
