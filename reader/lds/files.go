// Package lds parses and builds the Logical Data Structure of ICAO Doc 9303 part 10: EF.COM, EF.SOD,
// DG1 (MRZ), DG2 (face, CBEFF + ISO/IEC 19794-5), DG13 (Vietnamese CCCD data), DG14 (security infos),
// DG15 (active authentication key). Parsers never panic and bound every length by their input.
package lds

import "fmt"

// File names one elementary file of the eMRTD application.
type File struct {
	Name string
	FID  uint16 // file identifier (ICAO Doc 9303 part 10 §3.6 / table 39)
	SFI  byte   // short file identifier
	Tag  byte   // outer tag of the file's content
	DG   int    // data group number, 0 for EF.COM / EF.SOD
}

// The files of the LDS1 eMRTD application (ICAO Doc 9303 part 10 §4.6, table 39).
var (
	COM  = File{"EF.COM", 0x011E, 0x1E, 0x60, 0}
	SOD  = File{"EF.SOD", 0x011D, 0x1D, 0x77, 0}
	DG1  = File{"DG1", 0x0101, 0x01, 0x61, 1}
	DG2  = File{"DG2", 0x0102, 0x02, 0x75, 2}
	DG3  = File{"DG3", 0x0103, 0x03, 0x63, 3}
	DG13 = File{"DG13", 0x010D, 0x0D, 0x6D, 13}
	DG14 = File{"DG14", 0x010E, 0x0E, 0x6E, 14}
	DG15 = File{"DG15", 0x010F, 0x0F, 0x6F, 15}
	// CardAccess lives in the master file (ICAO Doc 9303 part 11 §9.2.11).
	CardAccess = File{"EF.CardAccess", 0x011C, 0x1C, 0x31, 0}
)

// DGByNumber returns the file of a data group.
func DGByNumber(n int) (File, error) {
	for _, f := range []File{DG1, DG2, DG3, DG13, DG14, DG15} {
		if f.DG == n {
			return f, nil
		}
	}
	if n >= 1 && n <= 16 {
		return File{Name: fmt.Sprintf("DG%d", n), FID: 0x0100 | uint16(n), SFI: byte(n), DG: n}, nil
	}
	return File{}, fmt.Errorf("lds: no data group %d", n)
}

// DGTags maps the EF.COM tag list (tag 5C) entries to data group numbers (part 10 table 38).
var DGTags = map[byte]int{0x61: 1, 0x75: 2, 0x63: 3, 0x76: 4, 0x65: 5, 0x66: 6, 0x67: 7, 0x68: 8,
	0x69: 9, 0x6A: 10, 0x6B: 11, 0x6C: 12, 0x6D: 13, 0x6E: 14, 0x6F: 15, 0x70: 16}

// AID of the eMRTD LDS1 application (ICAO Doc 9303 part 10 §3.1.2).
var AID = []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}
