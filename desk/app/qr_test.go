package app

import (
	"strings"
	"testing"
	"time"
)

func TestQRKeyExpiryCandidates(t *testing.T) {
	for _, tc := range []struct {
		k    QRKey
		want []string // expiry candidates, most likely first (yymmdd)
	}{
		// Issued at 22: expires at 25.
		{QRKey{IDNumber: "001199012345", DateOfBirth: "15/03/1999", DateOfIssue: "20/04/2021"}, []string{"240315", "390315", "590315"}},
		// Issued within two years before the 25th birthday: lasts to the 40th.
		{QRKey{IDNumber: "001199012345", DateOfBirth: "15/03/1999", DateOfIssue: "01/06/2022"}, []string{"390315", "240315", "590315"}},
	} {
		q, err := tc.k.data()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range q.Keys() {
			if k.DocumentNumber != "199012345" || k.DateOfBirth != "990315" {
				t.Fatalf("key %+v", k)
			}
			got = append(got, k.DateOfExpiry)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%+v: candidates %v, want %v", tc.k, got, tc.want)
		}
	}
}

// FuzzQRKey: the confirmed QR fields never panic, and whatever is accepted makes MRZ keys (ICAO
// 9303 part 11: a 9-digit document number and two yymmdd dates).
func FuzzQRKey(f *testing.F) {
	f.Add("001199012345", "15/03/1999", "20/04/2021")
	f.Add("001 199 012 345", "29/02/2000", "29/02/2000")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, id, dob, issue string) {
		q, err := QRKey{IDNumber: id, DateOfBirth: dob, DateOfIssue: issue}.data()
		if err != nil {
			return
		}
		if len(q.ID) != 12 || q.DateOfIssue.Before(q.DateOfBirth) {
			t.Fatalf("accepted %+v", q)
		}
		keys := q.Keys()
		if len(keys) == 0 {
			t.Fatal("no key")
		}
		for _, k := range keys {
			if len(k.DocumentNumber) != 9 || len(k.DateOfBirth) != 6 || len(k.DateOfExpiry) != 6 {
				t.Fatalf("key %+v", k)
			}
			if _, err := time.Parse("060102", k.DateOfExpiry); err != nil {
				t.Fatalf("expiry %q", k.DateOfExpiry)
			}
		}
	})
}
