package reader_test

import (
	"testing"
	"time"

	"enrolldesk/reader"
)

func TestKeyFromCCCD(t *testing.T) {
	k, err := reader.KeyFromCCCD("001099012345", "15/03/1999", "240315")
	if err != nil || k.DocumentNumber != "099012345" || k.DateOfBirth != "990315" || k.DateOfExpiry != "240315" {
		t.Fatalf("%+v %v", k, err)
	}
	for _, bad := range [][3]string{{"12345", "990315", "240315"}, {"001099012345", "991315", "240315"}, {"001099012345", "990315", "x"}} {
		if _, err := reader.KeyFromCCCD(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

func TestKeyFromMRZ(t *testing.T) {
	// ICAO Doc 9303 part 5 TD1 specimen, typed in three lines.
	k, err := reader.KeyFromMRZ("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	if err != nil || k.DocumentNumber != "D23145890" || k.DateOfBirth != "740812" || k.DateOfExpiry != "120415" {
		t.Fatalf("%+v %v", k, err)
	}
	if _, err := reader.KeyFromMRZ("I<UTOD231458908<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<"); err == nil {
		t.Fatal("typo accepted")
	}
}

func TestQRExpiry(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	cases := []struct {
		birth, issue, want string
	}{
		{"1999-03-15", "2021-04-20", "2024-03-15"}, // issued at 22: expires at 25
		{"1999-03-15", "2023-06-01", "2039-03-15"}, // within two years of 25: lasts to 40
		{"1980-01-10", "2021-05-05", "2040-01-10"}, // issued at 41: expires at 60
		{"1990-07-01", "2012-01-01", "2015-07-01"},
	}
	for _, c := range cases {
		q := &reader.QRData{ID: "001099012345", DateOfBirth: d(c.birth), DateOfIssue: d(c.issue)}
		got := q.ExpiryCandidates()
		if got[0].Format(time.DateOnly) != c.want || len(got) != 3 {
			t.Errorf("%s issued %s: %v", c.birth, c.issue, got)
		}
	}
	q, err := reader.ParseQR("001099012345|013456789|Nguyễn Thị Hương|15031999|Nữ|Hà Nội|20042021")
	if err != nil {
		t.Fatal(err)
	}
	keys := q.Keys()
	if keys[0].DateOfExpiry != "240315" || keys[0].DocumentNumber != "099012345" || keys[1].DateOfExpiry != "390315" {
		t.Fatalf("%+v", keys)
	}
	if _, err := reader.ParseQR("001|x"); err == nil {
		t.Fatal("short QR accepted")
	}
}

func FuzzParseQR(f *testing.F) {
	f.Add("001099012345|013456789|Nguyễn Thị Hương|15031999|Nữ|Hà Nội|20042021")
	f.Add("001099012345||A|29022000|Nam|x|01012024")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := reader.ParseQR(s)
		if err != nil {
			return
		}
		keys := q.Keys()
		if len(keys) != 3 || len(q.ID) != 12 {
			t.Fatalf("%d keys for ID %q", len(keys), q.ID)
		}
		for _, k := range keys {
			if k.DocumentNumber != q.ID[3:] || k.DateOfBirth != q.DateOfBirth.Format("060102") {
				t.Fatalf("key %+v does not come from %q", k, s)
			}
			if _, err := k.MRZInformation(); err != nil {
				t.Fatalf("derived key unusable: %v", err)
			}
		}
	})
}

func FuzzKeyFromMRZ(f *testing.F) {
	f.Add("I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	f.Fuzz(func(t *testing.T, s string) { _, _ = reader.KeyFromMRZ(s) })
}
