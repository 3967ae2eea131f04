package enroll

import (
	"errors"
	"testing"
	"time"
)

func TestNormalizeMobile(t *testing.T) {
	good := map[string]string{
		"0912345678":      "+84912345678",
		"091 234 5678":    "+84912345678",
		"+84 912.345.678": "+84912345678",
		"84987654321":     "+84987654321",
		"0321-234-567":    "+84321234567",
		"0701234567":      "+84701234567",
	}
	for in, want := range good {
		got, err := NormalizeMobile(in)
		if err != nil || got != want {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "091234567", "09123456789", "0241234567" /* Hà Nội landline */, "0112345678",
		"+1 912 345 678", "0912a45678", "++84912345678", "0952345678" /* 095 unassigned */} {
		if got, err := NormalizeMobile(in); !errors.Is(err, ErrMobile) {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want ErrMobile", in, got, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got, err := NormalizeEmail(" an.nguyen@example.vn "); err != nil || got != "an.nguyen@example.vn" {
		t.Errorf("good address: %q %v", got, err)
	}
	if got, err := NormalizeEmail(""); err != nil || got != "" {
		t.Errorf("empty address: %q %v", got, err)
	}
	for _, in := range []string{"an", "an@", "An <an@example.vn>", "an@localhost"} {
		if _, err := NormalizeEmail(in); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
}

func TestCheckCitizenID(t *testing.T) {
	dob := func(y int) time.Time { return time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		id   string
		dob  time.Time
		sex  string
		ok   bool
		name string
	}{
		{"001090123456", dob(1990), "M", true, "Hà Nội, man born 1990"},
		{"079195012345", dob(1995), "F", true, "HCMC, woman born 1995"},
		{"036212000001", dob(2012), "M", true, "boy born 2012"},
		{"036312000001", dob(2012), "F", true, "girl born 2012"},
		{"036312000001", dob(2012), "M", false, "sex digit disagrees"},
		{"001090123456", dob(1991), "M", false, "year disagrees"},
		{"001290123456", dob(1990), "M", false, "century disagrees"},
		{"000090123456", dob(1990), "M", false, "province 000"},
		{"097090123456", dob(1990), "M", false, "province 097"},
		{"00109012345", time.Time{}, "", false, "11 digits"},
		{"00109012345x", time.Time{}, "", false, "letter"},
		{"001090123456", time.Time{}, "", true, "structure only"},
		{"00109012345٣", time.Time{}, "", false, "non-ASCII digit"},
	}
	for _, c := range cases {
		err := CheckCitizenID(c.id, c.dob, c.sex)
		if (err == nil) != c.ok {
			t.Errorf("%s: CheckCitizenID(%s) = %v, want ok=%v", c.name, c.id, err, c.ok)
		}
	}
}

func TestAgeOn(t *testing.T) {
	dob := time.Date(2012, 11, 24, 0, 0, 0, 0, time.UTC)
	if a := AgeOn(dob, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)); a != 13 {
		t.Errorf("day before 14th birthday: %d", a)
	}
	if a := AgeOn(dob, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)); a != 14 {
		t.Errorf("14th birthday: %d", a)
	}
}

func FuzzNormalizeMobile(f *testing.F) {
	for _, s := range []string{"0912345678", "+84 912 345 678", "", "84", "+", "0٣12345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeMobile(s)
		if err != nil {
			return
		}
		again, err := NormalizeMobile(out)
		if err != nil || again != out || len(out) != 12 {
			t.Fatalf("normalised %q to %q, which re-normalises to %q, %v", s, out, again, err)
		}
	})
}
