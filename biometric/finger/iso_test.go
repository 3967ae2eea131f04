package finger

import (
	"bytes"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tp := loadTemplate(t, "fvc2002_db1_b", "104_3.tif")
	for _, f := range []Format{ISO19794, ANSI378} {
		r, err := NewRecord(tp, f, 2)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		fieldArea := 4 + 2 + (len(tp.Field.Cells)+1)/2 // the orientation field's extended data area
		if want := 8 + map[Format]int{ISO19794: 4, ANSI378: 2 + 4}[f] + 12 + 4 + 6*len(tp.Minutiae) + 2 + fieldArea; len(raw) != want {
			t.Fatalf("%v: %d bytes, want %d", f, len(raw), want)
		}
		back, err := ParseRecord(raw, f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(raw, again) {
			t.Fatalf("%v: round trip changed the bytes", f)
		}
		if back.XRes != 197 || back.Width != 388 || back.Views[0].Position != 2 {
			t.Fatalf("%v: header %+v", f, back)
		}
		t2, err := back.Template(0)
		if err != nil {
			t.Fatal(err)
		}
		if t2.Field == nil || string(t2.Field.Cells) != string(tp.Field.Cells) {
			t.Fatalf("%v: orientation field lost through the record", f)
		}
		// A template through a record still matches its source almost perfectly.
		if s, self := NewProbe(tp).Match(t2), NewProbe(tp).Match(tp); s < 0.8*self {
			t.Fatalf("%v: score after export %.2f, self %.2f", f, s, self)
		}
		if _, err := ParseRecord(raw[:len(raw)-1], f); err == nil {
			t.Fatalf("%v: truncated record accepted", f)
		}
	}
}

// A hand-built ANSI 378 record with extended data and reserved bits survives byte for byte.
func TestRecordKeepsEverything(t *testing.T) {
	r := &Record{Format: ANSI378, ProductOwner: 0x1B, ProductType: 0x0201, Equipment: 0x1ABC, Width: 256,
		Height: 288, XRes: 197, YRes: 197, Reserved: 0, Views: []View{
			{Position: 7, ViewNumber: 1, Impression: 0, Quality: 60, Minutiae: []RecordMinutia{
				{Type: 1, X: 10, Y: 20, Reserved: 2, Angle: 179, Quality: 40},
				{Type: 2, X: 0x3FFF, Y: 0, Angle: 0, Quality: 100}},
				Extended: []byte{0x00, 0x01, 0x00, 0x05, 0xAA}},
			{Position: 2, Quality: 0},
		}}
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRecord(raw, ANSI378)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Marshal()
	if !bytes.Equal(raw, again) || back.Views[0].Minutiae[0].Reserved != 2 || len(back.Views) != 2 {
		t.Fatalf("lost data: %+v", back)
	}
	if _, err := ParseRecord(raw, ISO19794); err == nil {
		t.Fatal("ANSI record parsed as ISO")
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, fm := range []Format{ISO19794, ANSI378} {
		r, _ := NewRecord(&Template{Width: 388, Height: 374, DPI: 500, Quality: 50, Minutiae: []Minutia{
			{X: 1, Y: 2, Angle: 1, Type: TypeEnding, Quality: 9}}}, fm, 2)
		raw, _ := r.Marshal()
		f.Add(raw, uint8(fm))
		r, _ = NewRecord(&Template{Width: 388, Height: 374, DPI: 500, Quality: 50, Minutiae: []Minutia{
			{X: 1, Y: 2, Angle: 1, Type: TypeEnding, Quality: 9}}, Field: &Field{W: 3, H: 1, Cells: []uint8{1, 0, 15}}}, fm, 2)
		raw, _ = r.Marshal()
		f.Add(raw, uint8(fm))
	}
	f.Fuzz(func(t *testing.T, b []byte, fm uint8) {
		format := Format(fm % 2)
		r, err := ParseRecord(b, format)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the bytes")
		}
		for i := range r.Views {
			if _, err := r.Template(i); err != nil {
				t.Fatal(err)
			}
		}
	})
}
