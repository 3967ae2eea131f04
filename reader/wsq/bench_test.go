package wsq

import (
	"math"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/finger"
)

// BenchmarkWSQDecode decodes one 388×374 FVC2002 DB1_B print encoded at 0.75 bpp.
func BenchmarkWSQDecode(b *testing.B) {
	img, err := finger.LoadImage(filepath.Join(testdata(b), "fvc2002_db1_b", "101_1.tif"))
	if err != nil {
		b.Fatal(err)
	}
	enc, err := Encode(img, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(img.Pix)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "wsq-bytes")
}

// BenchmarkWSQEncode encodes the same print.
func BenchmarkWSQEncode(b *testing.B) {
	img, err := finger.LoadImage(filepath.Join(testdata(b), "fvc2002_db1_b", "101_1.tif"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(img.Pix)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Encode(img, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWSQFVC is the full measurement (run once, -benchtime 1x): every print of both FVC sets
// through the codec at 0.75 bpp; PSNR and the matcher's genuine scores before and after.
func BenchmarkWSQFVC(b *testing.B) {
	for i := 0; i < b.N; i++ {
		all := fvcRoundTrips(b)
		for _, set := range fvcSets {
			rs := all[set]
			worst, mean, bits := math.Inf(1), 0.0, 0.0
			for _, r := range rs {
				worst = math.Min(worst, r.psnr)
				mean += r.psnr
				bits += float64(8*r.size) / float64(len(r.orig.Pix))
			}
			st, err := genuineStats(rs)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d prints, PSNR mean %.2f dB worst %.2f dB, %.3f bits/pixel; %s", set, len(rs),
				mean/float64(len(rs)), worst, bits/float64(len(rs)), st)
		}
	}
}
