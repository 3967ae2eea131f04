package exceptions

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"enrolldesk/desk/settings"
)

var ev = "sha256:" + fmt.Sprintf("%064x", 42)

func codes(r Result) []string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, fmt.Sprintf("%d:%s", e.Position, e.Code))
	}
	return out
}

func TestValidateFingerPolicy(t *testing.T) {
	p := settings.Defaults().Policy.Fingers // both index, else thumbs, middle, ring, little; 2 needed
	none := settings.Defaults().Policy.Fingers
	none.AllowNone = true
	cases := []struct {
		name       string
		policy     settings.FingerPolicy
		captured   []Capture
		exceptions []Exception
		used       []int
		errs       []string
		supervisor bool
	}{
		{name: "both index", policy: p, captured: []Capture{{2, 80}, {7, 60}}, used: []int{2, 7}},
		{name: "right index missing, not declared", policy: p, captured: []Capture{{7, 60}, {1, 70}},
			errs: []string{"2:finger.missing"}},
		{name: "right index declared: next best is the right thumb", policy: p,
			captured: []Capture{{7, 60}, {1, 70}}, exceptions: []Exception{{2, Bandaged, ev}}, used: []int{7, 1}, supervisor: true},
		{name: "low quality not declared", policy: p, captured: []Capture{{2, 20}, {7, 60}},
			errs: []string{"2:finger.low_quality"}},
		{name: "low quality declared unreadable", policy: p, captured: []Capture{{2, 20}, {7, 60}, {1, 50}},
			exceptions: []Exception{{2, Unreadable, ev}}, used: []int{7, 1}, supervisor: true},
		{name: "both index declared, thumbs needed", policy: p, captured: []Capture{{1, 50}},
			exceptions: []Exception{{2, Missing, ev}, {7, Missing, ev}}, errs: []string{"6:finger.missing"}},
		{name: "exception for a good capture", policy: p, captured: []Capture{{2, 90}, {7, 90}},
			exceptions: []Exception{{2, Missing, ev}}, errs: []string{"2:exception.captured"}},
		{name: "no evidence, bad reason, bad position, duplicate", policy: p, captured: []Capture{{1, 90}, {6, 90}},
			exceptions: []Exception{{2, Missing, ""}, {7, "sore", ev}, {11, Missing, ev}, {7, Missing, ev}},
			errs:       []string{"2:exception.evidence", "7:exception.reason", "11:exception.position", "7:exception.duplicate"}},
		{name: "all declared, policy forbids", policy: p, exceptions: allTen(), errs: []string{"0:fingers.none"}},
		{name: "all declared, policy allows", policy: none, exceptions: allTen(), supervisor: true},
		{name: "one hand: the rest declared", policy: p, captured: []Capture{{2, 80}},
			exceptions: []Exception{{6, Missing, ev}, {7, Missing, ev}, {8, Missing, ev}, {9, Missing, ev}, {10, Missing, ev},
				{1, Missing, ev}, {3, Missing, ev}, {4, Missing, ev}, {5, Missing, ev}}, used: []int{2}, supervisor: true},
		{name: "captured twice", policy: p, captured: []Capture{{2, 80}, {2, 70}, {7, 80}}, used: []int{2, 7},
			errs: []string{"2:capture.duplicate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Validate(c.policy, 40, c.captured, c.exceptions)
			if got := codes(r); !reflect.DeepEqual(got, c.errs) {
				t.Fatalf("errors %v, want %v (%+v)", got, c.errs, r.Errors)
			}
			if len(c.errs) == 0 && !reflect.DeepEqual(r.Used, c.used) {
				t.Fatalf("used %v, want %v", r.Used, c.used)
			}
			if len(c.errs) == 0 && r.NeedsSupervisor != c.supervisor {
				t.Fatalf("needs supervisor %v", r.NeedsSupervisor)
			}
			if (r.Err() == nil) != (len(c.errs) == 0) {
				t.Fatalf("Err() = %v", r.Err())
			}
		})
	}
}

func allTen() []Exception {
	var out []Exception
	for p := 1; p <= 10; p++ {
		out = append(out, Exception{p, Missing, ev})
	}
	return out
}

func TestMessagesNameTheFinger(t *testing.T) {
	r := Validate(settings.Defaults().Policy.Fingers, 40, []Capture{{7, 10}}, nil)
	err := r.Err()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"right index finger: not captured", "left index finger: quality 10 is below 40"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

// FuzzValidate derives captures and exceptions from arbitrary bytes: Validate must never panic,
// and an accepted capture must meet the policy or be held for the supervisor.
func FuzzValidate(f *testing.F) {
	f.Add([]byte{2, 80, 7, 60}, []byte{})
	f.Add([]byte{7, 60, 1, 70}, []byte{2, 1})
	f.Add([]byte{}, []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 10, 0})
	reasons := []Reason{Missing, Bandaged, Unreadable, "x"}
	p := settings.Defaults().Policy.Fingers
	f.Fuzz(func(t *testing.T, caps, excs []byte) {
		var cs []Capture
		for i := 0; i+1 < len(caps) && i < 40; i += 2 {
			cs = append(cs, Capture{Position: int(caps[i]) % 12, Quality: int(caps[i+1]) % 101})
		}
		var es []Exception
		for i := 0; i+1 < len(excs) && i < 40; i += 2 {
			es = append(es, Exception{Position: int(excs[i]) % 12, Reason: reasons[int(excs[i+1])%len(reasons)], Evidence: ev})
		}
		r := Validate(p, 40, cs, es)
		if !r.OK() {
			return
		}
		seen := map[int]bool{}
		for _, u := range r.Used {
			if seen[u] {
				t.Fatalf("finger %d used twice", u)
			}
			seen[u] = true
		}
		if len(r.Used) < p.MinFingers && !r.NeedsSupervisor {
			t.Fatalf("accepted %v with %d fingers and no supervisor", r.Used, len(r.Used))
		}
	})
}
