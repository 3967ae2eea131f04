package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseEFCOM(t *testing.T) {
	// EF.COM of ICAO Doc 9303 part 11 appendix D.4: 60 14 5F01 04 "0106" 5F36 06 "040000" 5C 02 61 75.
	com := h("60145F0104303130365F36063034303030305C026175")
	v, err := Unwrap(com, 0x60)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ParseAll(v)
	if err != nil || len(objs) != 3 || objs[0].Tag != 0x5F01 || string(objs[0].Value) != "0106" ||
		objs[2].Tag != 0x5C || !bytes.Equal(objs[2].Value, []byte{0x61, 0x75}) {
		t.Fatalf("%+v %v", objs, err)
	}
	if !bytes.Equal(Encode(0x60, v), com) {
		t.Fatal("re-encode differs")
	}
}

func TestLongForms(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 70000)
	enc := Encode(0x7F61, big)
	if !bytes.Equal(enc[:6], h("7F6183011170")) {
		t.Fatalf("header %X", enc[:6])
	}
	v, err := Unwrap(enc, 0x7F61)
	if err != nil || len(v) != 70000 {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "5F", "5F01", "6181", "6182FF", "618401000000", "6185010000000000", "6180", "6103AABB", "5FFFFF0100"} {
		if _, _, err := Parse(h(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
	if _, _, err := Parse(h("6103AABB")); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated value: %v", err)
	}
}

func FuzzParseAll(f *testing.F) {
	f.Add(h("60145F0104303130365F36063034303030305C026175"))
	f.Add(h("7F618201020201"))
	f.Add(h("5F1F81FF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := ParseAll(b)
		if err != nil {
			return
		}
		n := 0
		for _, o := range objs {
			n += len(o.Value)
			if o.Constructed {
				_, _ = ParseAll(o.Value)
			}
		}
		if n > len(b) {
			t.Fatalf("values longer than input")
		}
	})
}
