package finger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MinutiaType says whether a minutia is a ridge ending or a bifurcation (ISO/IEC 19794-2:2005 §7.4.1:
// 01 = ending, 10 = bifurcation, 00 = other).
type MinutiaType uint8

const (
	TypeOther       MinutiaType = 0
	TypeEnding      MinutiaType = 1
	TypeBifurcation MinutiaType = 2
)

// Minutia is one ridge ending or bifurcation in image pixels (origin top left, y down). Angle is in
// radians in [0, 2π), counter-clockwise from the x axis with y pointing up (ISO/IEC 19794-2:2005 §7.4.2
// convention). The direction is the bisector of the smallest angle between the three rays leaving the
// minutia along the ridges (bifurcation) or the valleys (ending), as the Type-9 extended feature set
// of ANSI/NIST-ITL 1-2011 defines it: a bifurcation points between its two branches, an ending points
// along its ridge into the ridge body. Both types then point the same way when a bifurcation shows up as an ending in
// another impression (one branch broken off at the fork) or the reverse, which is the common type
// change between dry and wet prints; the matcher ignores the type and relies on this.
type Minutia struct {
	X, Y    int
	Angle   float64
	Type    MinutiaType
	Quality uint8 // 0..100
}

// Template is the project's own finger template: the minutiae of one impression, the image size
// they live in, and the impression's quality (0..100, see Quality). It is what Extract returns and what
// the 1:N gallery stores; MarshalBinary gives a compact form (7 bytes per minutia plus ~300 bytes of
// orientation field).
//
// Treat a template as immutable once Extract or UnmarshalBinary has returned it: both attach the
// prepared matching form (cylinders, hull), so comparisons against a stored template do not rebuild it.
// Build a new Template to change minutiae.
type Template struct {
	Width, Height int
	DPI           int // 500 for FVC and R30x sensors
	Quality       int // 0..100
	Minutiae      []Minutia
	// Field is the coarse orientation field (field.go); nil when unknown (records from other
	// vendors, version 1 compact templates). Without it on both sides the matcher skips the
	// orientation check, and impostor scores run higher than the ScoreForFMR calibration assumes.
	Field *Field
	prep  *Probe // prepared form of exactly Minutiae, or nil
}

// prepared returns the attached matching form when it still describes t.Minutiae and t.Field.
func (t *Template) prepared() *Probe {
	if p := t.prep; p != nil && len(p.m) == len(t.Minutiae) && (len(t.Minutiae) == 0 || p.first == &t.Minutiae[0]) &&
		p.fieldOf == t.Field {
		return p
	}
	return nil
}

// compact template layout, big-endian; version 1 (no orientation field):
//
//	"FT" 0x01 | width u16 | height u16 | dpi u16 | quality u8 | count u16 |
//	count × { x u16 | y u16 | type:2 bits, angle:14 bits (u16, 2π/16384 units) | quality u8 } → 7 bytes
//
// version 2 ("FT" 0x02) is version 1 followed by the orientation field:
//
//	field width u8 | field height u8 | width×height cells, 4 bits each, high nibble first, a final
//	unused nibble zero
//
// MarshalBinary writes version 2 when the template has a field and version 1 otherwise, so that
// every accepted encoding round-trips byte for byte.
const (
	compactMagic   = "FT\x01"
	compactMagicV2 = "FT\x02"
	compactHeader  = 3 + 2 + 2 + 2 + 1 + 2
	compactPerMin  = 7
	angleUnits14   = 16384
	maxMinutiaeCap = 65535
)

// MarshalBinary encodes the template in the compact form described above.
func (t *Template) MarshalBinary() ([]byte, error) {
	if len(t.Minutiae) > maxMinutiaeCap {
		return nil, fmt.Errorf("finger template: %d minutiae", len(t.Minutiae))
	}
	b := make([]byte, compactHeader, compactHeader+compactPerMin*len(t.Minutiae))
	copy(b, compactMagic)
	binary.BigEndian.PutUint16(b[3:], uint16(t.Width))
	binary.BigEndian.PutUint16(b[5:], uint16(t.Height))
	binary.BigEndian.PutUint16(b[7:], uint16(t.DPI))
	b[9] = uint8(clampInt(t.Quality, 0, 100))
	binary.BigEndian.PutUint16(b[10:], uint16(len(t.Minutiae)))
	for _, m := range t.Minutiae {
		if m.X < 0 || m.Y < 0 || m.X > 65535 || m.Y > 65535 {
			return nil, fmt.Errorf("finger template: minutia at (%d,%d) out of range", m.X, m.Y)
		}
		a := uint16(math.Round(normAngle(m.Angle)/(2*math.Pi)*angleUnits14)) % angleUnits14
		var r [compactPerMin]byte
		binary.BigEndian.PutUint16(r[0:], uint16(m.X))
		binary.BigEndian.PutUint16(r[2:], uint16(m.Y))
		binary.BigEndian.PutUint16(r[4:], uint16(m.Type&3)<<14|a)
		r[6] = m.Quality
		b = append(b, r[:]...)
	}
	if t.Field != nil {
		b[2] = compactMagicV2[2]
		var err error
		if b, err = appendField(b, t.Field); err != nil {
			return nil, fmt.Errorf("finger template: %w", err)
		}
	}
	return b, nil
}

// UnmarshalBinary decodes the compact form (version 1 or 2). Angles come back quantised to 2π/16384.
func (t *Template) UnmarshalBinary(b []byte) error {
	if len(b) < compactHeader || string(b[:3]) != compactMagic && string(b[:3]) != compactMagicV2 {
		return errors.New("finger template: not a compact v1 or v2 template")
	}
	n := int(binary.BigEndian.Uint16(b[10:]))
	end := compactHeader + n*compactPerMin
	var field *Field
	switch {
	case b[2] == compactMagic[2] && len(b) != end:
		return fmt.Errorf("finger template: %d bytes for %d minutiae", len(b), n)
	case b[2] == compactMagicV2[2]:
		if len(b) < end {
			return fmt.Errorf("finger template: %d bytes for %d minutiae", len(b), n)
		}
		f, err := parseField(b[end:])
		if err != nil {
			return fmt.Errorf("finger template: %w", err)
		}
		field = f
	}
	q := int(b[9])
	if q > 100 {
		return fmt.Errorf("finger template: quality %d", q)
	}
	*t = Template{
		Width:    int(binary.BigEndian.Uint16(b[3:])),
		Height:   int(binary.BigEndian.Uint16(b[5:])),
		DPI:      int(binary.BigEndian.Uint16(b[7:])),
		Quality:  q,
		Minutiae: make([]Minutia, n),
		Field:    field,
	}
	for i := range t.Minutiae {
		r := b[compactHeader+i*compactPerMin:]
		ta := binary.BigEndian.Uint16(r[4:])
		if r[6] > 100 {
			return fmt.Errorf("finger template: minutia %d quality %d", i, r[6])
		}
		t.Minutiae[i] = Minutia{
			X:       int(binary.BigEndian.Uint16(r[0:])),
			Y:       int(binary.BigEndian.Uint16(r[2:])),
			Type:    MinutiaType(ta >> 14),
			Angle:   float64(ta&(angleUnits14-1)) * 2 * math.Pi / angleUnits14,
			Quality: r[6],
		}
	}
	t.prep = NewProbe(t)
	return nil
}

func normAngle(a float64) float64 {
	a = math.Mod(a, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return a
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
