package finger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Format selects the standard finger minutiae record layout.
type Format int

const (
	// ISO19794 is ISO/IEC 19794-2:2005 (finger minutiae data, record format): 4-byte record length,
	// angles in units of 360/256 degrees.
	ISO19794 Format = iota
	// ANSI378 is ANSI/INCITS 378-2004: 2-byte record length (6-byte form above 65,535), a CBEFF
	// product identifier, angles in units of 2 degrees.
	ANSI378
)

func (f Format) String() string {
	if f == ANSI378 {
		return "ANSI/INCITS 378-2004"
	}
	return "ISO/IEC 19794-2:2005"
}

// Record is one finger minutiae record, field by field, so that parsing and marshalling round-trip
// byte for byte (reserved bits and extended data are kept as found).
type Record struct {
	Format       Format
	ProductOwner uint16 // ANSI378 only: CBEFF product identifier owner
	ProductType  uint16 // ANSI378 only: CBEFF product identifier type
	Equipment    uint16 // 4 bits compliance/certification flags + 12 bits capture equipment id
	Width        uint16
	Height       uint16
	XRes, YRes   uint16 // pixels per centimetre (500 dpi ≈ 197)
	Reserved     uint8
	Views        []View
}

// View is one finger view of a record.
type View struct {
	Position   uint8 // ISO/IEC 19794-2 Table 2 / ANSI 378: 0 unknown, 2 right index, 7 left index…
	ViewNumber uint8 // 4 bits
	Impression uint8 // 4 bits: 0 live-scan plain, 1 live-scan rolled…
	Quality    uint8 // 0..100
	Minutiae   []RecordMinutia
	Extended   []byte // extended data block (after its 2-byte length), kept verbatim
}

// RecordMinutia is a minutia as stored: 2-bit type, 14-bit coordinates, 2 reserved bits, an angle in
// the format's units and a quality.
type RecordMinutia struct {
	Type     uint8 // 0 other, 1 ending, 2 bifurcation
	X, Y     uint16
	Reserved uint8 // the 2 bits above Y
	Angle    uint8
	Quality  uint8
}

var (
	fmrMagic     = []byte("FMR\x00")
	fmrVersion20 = []byte(" 20\x00")
)

// ParseRecord parses an ISO/IEC 19794-2:2005 or ANSI/INCITS 378-2004 record.
func ParseRecord(b []byte, f Format) (*Record, error) {
	if len(b) < 8 || string(b[:4]) != string(fmrMagic) || string(b[4:8]) != string(fmrVersion20) {
		return nil, fmt.Errorf("%v: not a version 20 FMR record", f)
	}
	r := &Record{Format: f}
	p := 8
	var total int
	switch f {
	case ISO19794:
		if len(b) < p+4 {
			return nil, fmt.Errorf("%v: short header", f)
		}
		total = int(binary.BigEndian.Uint32(b[p:]))
		p += 4
	case ANSI378:
		if len(b) < p+2 {
			return nil, fmt.Errorf("%v: short header", f)
		}
		total = int(binary.BigEndian.Uint16(b[p:]))
		p += 2
		if total == 0 {
			if len(b) < p+4 {
				return nil, fmt.Errorf("%v: short header", f)
			}
			total = int(binary.BigEndian.Uint32(b[p:]))
			p += 4
			if total <= 0xFFFF {
				return nil, fmt.Errorf("%v: long length form for a %d-byte record", f, total)
			}
		}
	default:
		return nil, fmt.Errorf("unknown record format %d", f)
	}
	if total != len(b) {
		return nil, fmt.Errorf("%v: record length field %d, have %d bytes", f, total, len(b))
	}
	need := 14
	if f == ANSI378 {
		need += 4
	}
	if len(b) < p+need {
		return nil, fmt.Errorf("%v: short header", f)
	}
	if f == ANSI378 {
		r.ProductOwner = binary.BigEndian.Uint16(b[p:])
		r.ProductType = binary.BigEndian.Uint16(b[p+2:])
		p += 4
	}
	r.Equipment = binary.BigEndian.Uint16(b[p:])
	r.Width = binary.BigEndian.Uint16(b[p+2:])
	r.Height = binary.BigEndian.Uint16(b[p+4:])
	r.XRes = binary.BigEndian.Uint16(b[p+6:])
	r.YRes = binary.BigEndian.Uint16(b[p+8:])
	nViews := int(b[p+10])
	r.Reserved = b[p+11]
	p += 12
	for v := range nViews {
		if len(b) < p+4 {
			return nil, fmt.Errorf("%v: view %d: short header", f, v)
		}
		vw := View{Position: b[p], ViewNumber: b[p+1] >> 4, Impression: b[p+1] & 0x0F, Quality: b[p+2]}
		n := int(b[p+3])
		p += 4
		if len(b) < p+6*n+2 {
			return nil, fmt.Errorf("%v: view %d: %d minutiae do not fit", f, v, n)
		}
		vw.Minutiae = make([]RecordMinutia, n)
		for i := range vw.Minutiae {
			x := binary.BigEndian.Uint16(b[p:])
			y := binary.BigEndian.Uint16(b[p+2:])
			m := RecordMinutia{Type: uint8(x >> 14), X: x & 0x3FFF, Reserved: uint8(y >> 14), Y: y & 0x3FFF,
				Angle: b[p+4], Quality: b[p+5]}
			if f == ANSI378 && m.Angle > 179 {
				return nil, fmt.Errorf("%v: view %d minutia %d: angle %d > 179", f, v, i, m.Angle)
			}
			vw.Minutiae[i] = m
			p += 6
		}
		ext := int(binary.BigEndian.Uint16(b[p:]))
		p += 2
		if len(b) < p+ext {
			return nil, fmt.Errorf("%v: view %d: extended data overruns the record", f, v)
		}
		vw.Extended = append([]byte{}, b[p:p+ext]...)
		p += ext
		r.Views = append(r.Views, vw)
	}
	if p != len(b) {
		return nil, fmt.Errorf("%v: %d trailing bytes", f, len(b)-p)
	}
	return r, nil
}

// Marshal encodes the record in its format.
func (r *Record) Marshal() ([]byte, error) {
	if len(r.Views) > 255 {
		return nil, errors.New("finger record: more than 255 views")
	}
	body := make([]byte, 0, 64)
	if r.Format == ANSI378 {
		body = binary.BigEndian.AppendUint16(body, r.ProductOwner)
		body = binary.BigEndian.AppendUint16(body, r.ProductType)
	}
	for _, v := range []uint16{r.Equipment, r.Width, r.Height, r.XRes, r.YRes} {
		body = binary.BigEndian.AppendUint16(body, v)
	}
	body = append(body, uint8(len(r.Views)), r.Reserved)
	for i, v := range r.Views {
		if len(v.Minutiae) > 255 || len(v.Extended) > 0xFFFF || v.ViewNumber > 15 || v.Impression > 15 {
			return nil, fmt.Errorf("finger record: view %d out of range", i)
		}
		body = append(body, v.Position, v.ViewNumber<<4|v.Impression, v.Quality, uint8(len(v.Minutiae)))
		for _, m := range v.Minutiae {
			if m.X > 0x3FFF || m.Y > 0x3FFF || m.Type > 3 || m.Reserved > 3 || r.Format == ANSI378 && m.Angle > 179 {
				return nil, fmt.Errorf("finger record: view %d: minutia out of range", i)
			}
			body = binary.BigEndian.AppendUint16(body, uint16(m.Type)<<14|m.X)
			body = binary.BigEndian.AppendUint16(body, uint16(m.Reserved)<<14|m.Y)
			body = append(body, m.Angle, m.Quality)
		}
		body = binary.BigEndian.AppendUint16(body, uint16(len(v.Extended)))
		body = append(body, v.Extended...)
	}
	out := append(append([]byte{}, fmrMagic...), fmrVersion20...)
	switch r.Format {
	case ISO19794:
		out = binary.BigEndian.AppendUint32(out, uint32(len(out)+4+len(body)))
	case ANSI378:
		if n := len(out) + 2 + len(body); n <= 0xFFFF {
			out = binary.BigEndian.AppendUint16(out, uint16(n))
		} else {
			out = binary.BigEndian.AppendUint16(out, 0)
			out = binary.BigEndian.AppendUint32(out, uint32(len(out)+4+len(body)))
		}
	default:
		return nil, fmt.Errorf("unknown record format %d", r.Format)
	}
	return append(out, body...), nil
}

// angle units per full turn
func (f Format) angleUnits() float64 {
	if f == ANSI378 {
		return 180
	}
	return 256
}

// NewRecord puts one template into a single-view record of format f for finger position pos.
func NewRecord(t *Template, f Format, pos uint8) (*Record, error) {
	if len(t.Minutiae) > 255 {
		return nil, fmt.Errorf("finger record: %d minutiae (at most 255)", len(t.Minutiae))
	}
	ppcm := uint16(math.Round(float64(t.DPI) / 2.54))
	r := &Record{Format: f, Width: uint16(t.Width), Height: uint16(t.Height), XRes: ppcm, YRes: ppcm}
	v := View{Position: pos, Quality: uint8(clampInt(t.Quality, 0, 100))}
	u := f.angleUnits()
	for _, m := range t.Minutiae {
		if m.X < 0 || m.Y < 0 || m.X > 0x3FFF || m.Y > 0x3FFF {
			return nil, fmt.Errorf("finger record: minutia at (%d,%d) out of range", m.X, m.Y)
		}
		a := int(math.Round(normAngle(m.Angle)/(2*math.Pi)*u)) % int(u)
		v.Minutiae = append(v.Minutiae, RecordMinutia{Type: uint8(m.Type & 3), X: uint16(m.X), Y: uint16(m.Y),
			Angle: uint8(a), Quality: m.Quality})
	}
	if t.Field != nil {
		// One vendor-defined extended data area (ISO/IEC 19794-2:2005 §7.5: type code u16, length u16
		// counting its 4-byte header, data) holding the orientation field, so that the desk's stored
		// records keep what the matcher weighs scores by. Other readers skip unknown type codes.
		area, err := appendField([]byte{0, 0, 0, 0}, t.Field)
		if err != nil {
			return nil, fmt.Errorf("finger record: %w", err)
		}
		if len(area) > 0xFFFF {
			return nil, fmt.Errorf("finger record: orientation field of %d bytes", len(area))
		}
		binary.BigEndian.PutUint16(area[0:], extFieldType)
		binary.BigEndian.PutUint16(area[2:], uint16(len(area)))
		v.Extended = area
	}
	r.Views = []View{v}
	return r, nil
}

// extFieldType is the extended data area type code of the orientation field; 0x0100–0xFFFF are
// vendor-defined in ISO/IEC 19794-2:2005 and ANSI/INCITS 378-2004 (0x0001 ridge counts, 0x0002 cores
// and deltas).
const extFieldType = 0x4F46 // "OF"

// extField finds the orientation field among the extended data areas of a view; areas of other types
// and a malformed block are ignored (the minutiae are still usable).
func extField(ext []byte) *Field {
	for len(ext) >= 4 {
		typ, n := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
		if n < 4 || n > len(ext) {
			return nil
		}
		if typ == extFieldType {
			if f, err := parseField(ext[4:n]); err == nil {
				return f
			}
			return nil
		}
		ext = ext[n:]
	}
	return nil
}

// Template converts view i of the record to the project's template.
func (r *Record) Template(i int) (*Template, error) {
	if i < 0 || i >= len(r.Views) {
		return nil, fmt.Errorf("finger record: no view %d", i)
	}
	v := r.Views[i]
	dpi := int(math.Round(float64(r.XRes) * 2.54))
	t := &Template{Width: int(r.Width), Height: int(r.Height), DPI: dpi, Quality: clampInt(int(v.Quality), 0, 100),
		Field: extField(v.Extended)}
	u := r.Format.angleUnits()
	for _, m := range v.Minutiae {
		t.Minutiae = append(t.Minutiae, Minutia{X: int(m.X), Y: int(m.Y), Type: MinutiaType(m.Type),
			Angle: float64(m.Angle) / u * 2 * math.Pi, Quality: min(m.Quality, 100)})
	}
	return t, nil
}
