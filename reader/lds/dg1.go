package lds

import (
	"errors"
	"fmt"
	"strings"

	"enrolldesk/reader/bac"
	"enrolldesk/reader/tlv"
)

// MRZ is the machine readable zone of DG1. Only TD1 (ID cards, 3 × 30 characters; ICAO Doc 9303
// part 5 §4.2) is parsed into fields; other formats keep Raw.
type MRZ struct {
	Raw            string
	DocumentCode   string
	IssuingState   string
	DocumentNumber string // as printed, '<' fillers removed
	OptionalData1  string
	DateOfBirth    string // YYMMDD
	Sex            string
	DateOfExpiry   string // YYMMDD
	Nationality    string
	OptionalData2  string
	Name           string // "SURNAME<<GIVEN<NAMES" with fillers replaced by spaces, e.g. "NGUYEN VAN A"
	// ChecksOK is true when every check digit (document number, birth, expiry, composite) verifies.
	ChecksOK bool
}

// CCCDNumber returns the 12-digit citizen ID number of a Vietnamese CCCD: the MRZ document number
// holds its last 9 digits and the full number sits at the start of the optional data.
func (m *MRZ) CCCDNumber() (string, bool) {
	od := strings.TrimRight(m.OptionalData1, "<")
	if len(od) >= 12 && isDigits(od[:12]) && strings.HasSuffix(od[:12], m.DocumentNumber) {
		return od[:12], true
	}
	return "", false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// AccessKey is the BAC/PACE-MRZ key this MRZ yields.
func (m *MRZ) AccessKey() bac.Key {
	return bac.Key{DocumentNumber: m.DocumentNumber, DateOfBirth: m.DateOfBirth, DateOfExpiry: m.DateOfExpiry}
}

// ParseDG1 decodes DG1: 61 { 5F1F MRZ }.
func ParseDG1(b []byte) (*MRZ, error) {
	v, err := tlv.Unwrap(b, 0x61)
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	mrz, ok, err := tlv.Find(v, 0x5F1F)
	if err != nil {
		return nil, fmt.Errorf("DG1: %w", err)
	}
	if !ok {
		return nil, errors.New("DG1: no MRZ (tag 5F1F)")
	}
	return ParseMRZ(string(mrz))
}

// ParseMRZ decodes a TD1 MRZ of 90 characters.
func ParseMRZ(s string) (*MRZ, error) {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	m := &MRZ{Raw: s}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '<') {
			return nil, fmt.Errorf("DG1: MRZ character %q at %d", c, i)
		}
	}
	if len(s) != 90 {
		return nil, fmt.Errorf("DG1: MRZ of %d characters; only TD1 (90) is supported", len(s))
	}
	l1, l2, l3 := s[:30], s[30:60], s[60:]
	m.DocumentCode = strings.TrimRight(l1[0:2], "<")
	m.IssuingState = strings.TrimRight(l1[2:5], "<")
	docField, docCheck := l1[5:14], l1[14]
	m.OptionalData1 = l1[15:30]
	checks := true
	if docCheck == '<' && len(strings.TrimRight(m.OptionalData1, "<")) > 0 {
		// Long document number (part 5 §4.2.4 note j): the rest and its check digit continue
		// in the optional data, terminated by '<'.
		od := strings.TrimRight(m.OptionalData1, "<")
		i := strings.IndexByte(od, '<')
		if i < 0 {
			i = len(od)
		}
		if i < 2 {
			return nil, errors.New("DG1: malformed long document number")
		}
		docField += od[:i-1]
		docCheck = od[i-1]
	}
	m.DocumentNumber = strings.TrimRight(docField, "<")
	checks = checks && checkOK(docField, docCheck)
	m.DateOfBirth, m.Sex, m.DateOfExpiry = l2[0:6], strings.TrimRight(l2[7:8], "<"), l2[8:14]
	checks = checks && checkOK(l2[0:6], l2[6]) && checkOK(l2[8:14], l2[14])
	m.Nationality = strings.TrimRight(l2[15:18], "<")
	m.OptionalData2 = l2[18:29]
	// Composite check digit of TD1 (part 5 §4.2.2.1): line 1 positions 6–30, line 2 positions 1–7,
	// 9–15 and 19–29.
	checks = checks && checkOK(l1[5:30]+l2[0:7]+l2[8:15]+l2[18:29], l2[29])
	m.ChecksOK = checks
	m.Name = strings.Join(strings.Fields(strings.ReplaceAll(l3, "<", " ")), " ")
	return m, nil
}

func checkOK(field string, digit byte) bool {
	cd, err := bac.CheckDigit(field)
	return err == nil && cd == digit
}

// TD1 builds a TD1 MRZ for an ID card. fields are upper-case MRZ characters; dates YYMMDD.
func TD1(docCode, state, docNumber, optional1, dob, sex, doe, nationality, optional2, surname, given string) (string, error) {
	pad := func(s string, n int) (string, error) {
		if len(s) > n {
			return "", fmt.Errorf("lds: MRZ field %q longer than %d", s, n)
		}
		return s + strings.Repeat("<", n-len(s)), nil
	}
	cd := func(s string) string {
		c, _ := bac.CheckDigit(s)
		return string(c)
	}
	dc, err := pad(docCode, 2)
	if err != nil {
		return "", err
	}
	st, _ := pad(state, 3)
	dn, err := pad(docNumber, 9)
	if err != nil {
		return "", err
	}
	o1, err := pad(optional1, 15)
	if err != nil {
		return "", err
	}
	l1 := dc + st + dn + cd(dn) + o1
	nat, _ := pad(nationality, 3)
	o2, err := pad(optional2, 11)
	if err != nil {
		return "", err
	}
	if sex == "" {
		sex = "<"
	}
	l2 := dob + cd(dob) + sex + doe + cd(doe) + nat + o2
	l2 += cd(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	name := strings.ReplaceAll(surname, " ", "<") + "<<" + strings.ReplaceAll(given, " ", "<")
	if len(name) > 30 {
		name = name[:30]
	}
	l3, _ := pad(name, 30)
	out := l1 + l2 + l3
	if _, err := bac.CheckDigit(out); err != nil {
		return "", err
	}
	return out, nil
}

// DG1Bytes wraps an MRZ into DG1.
func DG1Bytes(mrz string) []byte { return tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte(mrz))) }
