package wire

import (
	"strings"
	"testing"
)

func TestParseClip(t *testing.T) {
	got, err := ParseClip("a.jpg:4, b.jpg ,/x/c:d.jpg:2")
	if err != nil {
		t.Fatal(err)
	}
	want := []ClipFrame{{"a.jpg", 4}, {"b.jpg", 1}, {"/x/c:d.jpg", 2}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%d: %+v want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", " ", "a.jpg:0", "a.jpg:x", ":3", "a.jpg,,b.jpg", "a.jpg:251"} {
		if _, err := ParseClip(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseClip(f *testing.F) {
	f.Add("a.jpg:4,b.jpg")
	f.Add("x:y:3")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ParseClip(s)
		if err != nil {
			return
		}
		if len(fs) == 0 || len(fs) != strings.Count(s, ",")+1 {
			t.Fatalf("%q: %d poses", s, len(fs))
		}
		for _, c := range fs {
			if c.Photo == "" || c.Frames < 1 || c.Frames > 250 {
				t.Fatalf("%q: %+v", s, c)
			}
		}
	})
}
