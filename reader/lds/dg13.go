package lds

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"enrolldesk/reader/tlv"
)

// VNData is DG13 of the Vietnamese CCCD: the citizen's data in Vietnamese (UTF-8, with diacritics).
// Field numbers follow the card's DG13 layout: a sequence of SEQUENCE { INTEGER n, value... }.
type VNData struct {
	IDNumber         string `json:"id_number"`          // 1
	FullName         string `json:"full_name"`          // 2
	DateOfBirth      string `json:"date_of_birth"`      // 3, as stored
	Sex              string `json:"sex"`                // 4
	Nationality      string `json:"nationality"`        // 5
	Ethnicity        string `json:"ethnicity"`          // 6
	Religion         string `json:"religion"`           // 7
	PlaceOfOrigin    string `json:"place_of_origin"`    // 8 (quê quán)
	PlaceOfResidence string `json:"place_of_residence"` // 9 (nơi thường trú)
	IdentifyingMarks string `json:"identifying_marks"`  // 10
	DateOfIssue      string `json:"date_of_issue"`      // 11
	DateOfExpiry     string `json:"date_of_expiry"`     // 12
	FatherName       string `json:"father_name"`        // 13, first
	MotherName       string `json:"mother_name"`        // 13, second
	SpouseName       string `json:"spouse_name"`        // 14
	OldIDNumber      string `json:"old_id_number"`      // 16
	// Other holds fields with numbers this version does not name, as their strings.
	Other map[int][]string `json:"other,omitempty"`
}

// DG13 field numbers.
const (
	vnID = iota + 1
	vnName
	vnDOB
	vnSex
	vnNationality
	vnEthnicity
	vnReligion
	vnOrigin
	vnResidence
	vnMarks
	vnIssue
	vnExpiry
	vnParents
	vnSpouse
	_
	vnOldID
)

const maxDG13Depth = 4

// ParseDG13 decodes DG13 (tag 6D) by its ASN.1 structure. The entries may sit directly in the
// 6D template or inside one more SEQUENCE; elements other than INTEGER and strings (e.g. an OID
// naming the layout) are skipped.
func ParseDG13(b []byte) (*VNData, error) {
	v, err := tlv.Unwrap(b, 0x6D)
	if err != nil {
		return nil, fmt.Errorf("DG13: %w", err)
	}
	objs, err := tlv.ParseAll(v)
	if err != nil {
		return nil, fmt.Errorf("DG13: %w", err)
	}
	// One wrapping SEQUENCE whose children are SEQUENCEs: descend into it.
	if len(objs) == 1 && objs[0].Tag == 0x30 {
		inner, err := tlv.ParseAll(objs[0].Value)
		if err == nil && len(inner) > 0 && inner[0].Tag == 0x30 {
			objs = inner
		}
	}
	d := &VNData{}
	seen := map[int]bool{}
	for _, o := range objs {
		if o.Tag != 0x30 {
			continue
		}
		elems, err := tlv.ParseAll(o.Value)
		if err != nil {
			return nil, fmt.Errorf("DG13: entry: %w", err)
		}
		if len(elems) == 0 || elems[0].Tag != 0x02 {
			continue
		}
		n, err := smallInt(elems[0].Value)
		if err != nil {
			return nil, fmt.Errorf("DG13: entry number: %w", err)
		}
		var strs []string
		for _, e := range elems[1:] {
			if err := collectStrings(e, &strs, 0); err != nil {
				return nil, fmt.Errorf("DG13: field %d: %w", n, err)
			}
		}
		if seen[n] {
			return nil, fmt.Errorf("DG13: field %d twice", n)
		}
		seen[n] = true
		d.set(n, strs)
	}
	if d.IDNumber == "" {
		return nil, errors.New("DG13: no ID number (field 1)")
	}
	return d, nil
}

func smallInt(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 2 || b[0]&0x80 != 0 {
		return 0, errors.New("not a small positive INTEGER")
	}
	n := 0
	for _, x := range b {
		n = n<<8 | int(x)
	}
	return n, nil
}

// collectStrings gathers the string leaves of e in order (depth-first, bounded).
func collectStrings(e tlv.Object, out *[]string, depth int) error {
	switch e.Tag {
	case 0x0C: // UTF8String
		if !utf8.Valid(e.Value) {
			return errors.New("UTF8String is not valid UTF-8")
		}
		*out = append(*out, strings.TrimSpace(string(e.Value)))
	case 0x13, 0x16: // PrintableString, IA5String
		for _, c := range e.Value {
			if c >= 0x80 {
				return fmt.Errorf("non-ASCII byte in %02X string", e.Tag)
			}
		}
		*out = append(*out, strings.TrimSpace(string(e.Value)))
	case 0x30, 0x31:
		if depth >= maxDG13Depth {
			return errors.New("nested too deep")
		}
		kids, err := tlv.ParseAll(e.Value)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := collectStrings(k, out, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *VNData) set(n int, s []string) {
	first := func() string {
		if len(s) > 0 {
			return s[0]
		}
		return ""
	}
	switch n {
	case vnID:
		d.IDNumber = first()
	case vnName:
		d.FullName = first()
	case vnDOB:
		d.DateOfBirth = first()
	case vnSex:
		d.Sex = first()
	case vnNationality:
		d.Nationality = first()
	case vnEthnicity:
		d.Ethnicity = first()
	case vnReligion:
		d.Religion = first()
	case vnOrigin:
		d.PlaceOfOrigin = first()
	case vnResidence:
		d.PlaceOfResidence = first()
	case vnMarks:
		d.IdentifyingMarks = first()
	case vnIssue:
		d.DateOfIssue = first()
	case vnExpiry:
		d.DateOfExpiry = first()
	case vnParents:
		d.FatherName = first()
		if len(s) > 1 {
			d.MotherName = s[1]
		}
	case vnSpouse:
		d.SpouseName = first()
	case vnOldID:
		d.OldIDNumber = first()
	default:
		if d.Other == nil {
			d.Other = map[int][]string{}
		}
		d.Other[n] = s
	}
}

// ParseVNDate reads the date layouts seen in DG13: dd/mm/yyyy, dd-mm-yyyy, ddmmyyyy, yyyy-mm-dd
// and yyyymmdd. ok is false for anything else (e.g. "Không thời hạn", no expiry).
func ParseVNDate(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"02/01/2006", "02-01-2006", "2006-01-02", "02.01.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if len(s) == 8 && isDigits(s) {
		if y, _ := strconv.Atoi(s[:4]); y >= 1900 && y <= 2200 {
			if t, err := time.Parse("20060102", s); err == nil {
				return t, true
			}
		}
		if t, err := time.Parse("02012006", s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// DG13Bytes builds DG13 with every non-empty field as SEQUENCE { INTEGER n, UTF8String }.
func DG13Bytes(d *VNData) []byte {
	entry := func(n int, vals ...[]byte) []byte {
		return tlv.Encode(0x30, tlv.Concat(append([][]byte{tlv.Encode(0x02, []byte{byte(n)})}, vals...)...))
	}
	u := func(s string) []byte { return tlv.Encode(0x0C, []byte(s)) }
	var out [][]byte
	for _, f := range []struct {
		n int
		v string
	}{{vnID, d.IDNumber}, {vnName, d.FullName}, {vnDOB, d.DateOfBirth}, {vnSex, d.Sex},
		{vnNationality, d.Nationality}, {vnEthnicity, d.Ethnicity}, {vnReligion, d.Religion},
		{vnOrigin, d.PlaceOfOrigin}, {vnResidence, d.PlaceOfResidence}, {vnMarks, d.IdentifyingMarks},
		{vnIssue, d.DateOfIssue}, {vnExpiry, d.DateOfExpiry}} {
		if f.v != "" {
			out = append(out, entry(f.n, u(f.v)))
		}
	}
	if d.FatherName != "" || d.MotherName != "" {
		out = append(out, entry(vnParents, tlv.Encode(0x30, tlv.Concat(u(d.FatherName), u(d.MotherName)))))
	}
	if d.SpouseName != "" {
		out = append(out, entry(vnSpouse, u(d.SpouseName)))
	}
	if d.OldIDNumber != "" {
		out = append(out, entry(vnOldID, tlv.Encode(0x13, []byte(d.OldIDNumber))))
	}
	return tlv.Encode(0x6D, tlv.Concat(out...))
}
