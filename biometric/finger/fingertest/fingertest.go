// Package fingertest turns a fingerprint image file into what the desk's capture path produces,
// for tests of the packages that consume captured fingers (desk/app, desk/opcheck, desk/wire).
package fingertest

import (
	"testing"

	"enrolldesk/biometric/finger"
)

// ISORecord extracts the minutiae of the image at path (TIFF or any format finger.LoadImage
// reads) and encodes them as the ISO/IEC 19794-2:2005 record SensorFinger stores for position,
// with the template's quality.
func ISORecord(tb testing.TB, path string, position int) (record []byte, quality int) {
	tb.Helper()
	img, err := finger.LoadImage(path)
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := finger.Extract(img)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	rec, err := finger.NewRecord(tpl, finger.ISO19794, uint8(position))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := rec.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b, tpl.Quality
}
