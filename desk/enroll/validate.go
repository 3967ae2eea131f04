package enroll

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
)

// Vietnamese mobile prefixes after the 2018 move from 11 to 10 digits (Ministry of Information
// and Communications plan 798/QĐ-BTTTT): 03x Viettel, 05x Vietnamobile/Gmobile/Reddi,
// 07x MobiFone, 08x VinaPhone/Viettel/MobiFone/Itel, 09x all carriers.
var mobilePrefixes = map[string]bool{
	"032": true, "033": true, "034": true, "035": true, "036": true, "037": true, "038": true, "039": true,
	"052": true, "055": true, "056": true, "058": true, "059": true,
	"070": true, "076": true, "077": true, "078": true, "079": true,
	"081": true, "082": true, "083": true, "084": true, "085": true, "086": true, "087": true, "088": true, "089": true,
	"090": true, "091": true, "092": true, "093": true, "094": true, "096": true, "097": true, "098": true, "099": true,
}

// ErrMobile is returned for a number that is not a Vietnamese mobile number.
var ErrMobile = errors.New("not a Vietnamese mobile number")

// NormalizeMobile accepts 0xxxxxxxxx, 84xxxxxxxxx or +84xxxxxxxxx with spaces, dots or dashes,
// and returns the E.164 form +84xxxxxxxxx.
func NormalizeMobile(s string) (string, error) {
	var digits strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-':
		default:
			return "", fmt.Errorf("%q: unexpected character %q: %w", s, r, ErrMobile)
		}
	}
	d := digits.String()
	switch {
	case strings.HasPrefix(d, "84") && len(d) == 11:
		d = "0" + d[2:]
	case strings.HasPrefix(d, "0") && len(d) == 10:
	default:
		return "", fmt.Errorf("%q: want 10 digits starting with 0, or +84 and 9 digits: %w", s, ErrMobile)
	}
	if !mobilePrefixes[d[:3]] {
		return "", fmt.Errorf("%q: prefix %s is not a mobile network: %w", s, d[:3], ErrMobile)
	}
	return "+84" + d[1:], nil
}

// NormalizeEmail checks an optional e-mail address; "" stays "".
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", fmt.Errorf("%q is not an e-mail address", s)
	}
	return s, nil
}

// ErrCitizenID is returned for a number that cannot be a 12-digit citizen identity number.
var ErrCitizenID = errors.New("not a valid 12-digit citizen ID number")

// CheckCitizenID checks the structure of a 12-digit personal identification number (Decree
// 137/2015/NĐ-CP art. 7, Circular 07/2016/TT-BCA art. 7): a 3-digit province code of the place of
// birth registration, 1 digit for sex and century of birth (0/1 male/female born 1900–1999, 2/3
// 2000–2099, 4/5 2100–2199, ...), 2 digits for the year of birth, 6 random digits. When dob is
// not zero (and sex is "M" or "F"), the number must agree with them.
func CheckCitizenID(id string, dob time.Time, sex string) error {
	if len(id) != 12 {
		return fmt.Errorf("%d digits: %w", len(id), ErrCitizenID)
	}
	for _, r := range id {
		if !unicode.IsDigit(r) || r > '9' {
			return fmt.Errorf("non-digit %q: %w", r, ErrCitizenID)
		}
	}
	province := int(id[0]-'0')*100 + int(id[1]-'0')*10 + int(id[2]-'0')
	if province < 1 || province > 96 {
		return fmt.Errorf("province code %03d: %w", province, ErrCitizenID)
	}
	if dob.IsZero() {
		return nil
	}
	code := int(id[3] - '0')
	century := 1900 + (code/2)*100
	year := century + int(id[4]-'0')*10 + int(id[5]-'0')
	if year != dob.Year() {
		return fmt.Errorf("number encodes birth year %d, chip says %d: %w", year, dob.Year(), ErrCitizenID)
	}
	switch strings.ToUpper(sex) {
	case "M", "NAM":
		if code%2 != 0 {
			return fmt.Errorf("number encodes female, chip says male: %w", ErrCitizenID)
		}
	case "F", "NỮ", "NU":
		if code%2 != 1 {
			return fmt.Errorf("number encodes male, chip says female: %w", ErrCitizenID)
		}
	}
	return nil
}

// AgeOn returns the completed years of someone born on dob, on day.
func AgeOn(dob, day time.Time) int {
	age := day.Year() - dob.Year()
	if day.Month() < dob.Month() || (day.Month() == dob.Month() && day.Day() < dob.Day()) {
		age--
	}
	return age
}
