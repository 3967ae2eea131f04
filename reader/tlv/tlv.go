// Package tlv decodes and encodes BER-TLV data objects as ICAO Doc 9303 part 10 (LDS) and
// ISO/IEC 7816-4 §5.2 use them: tags of one to three bytes, definite lengths of up to four bytes.
// The decoder never panics and bounds every length by the input it was given.
package tlv

import (
	"errors"
	"fmt"
)

// Object is one decoded data object. Value aliases the input.
type Object struct {
	Tag   uint32
	Value []byte
	// Constructed is bit 6 of the first tag byte.
	Constructed bool
}

// ErrTruncated means the input ends inside a tag, a length or a value.
var ErrTruncated = errors.New("tlv: truncated")

// ParseHeader reads the tag and length at the start of b and returns them with the header size.
func ParseHeader(b []byte) (tag uint32, length, headerLen int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, ErrTruncated
	}
	i := 0
	tag = uint32(b[0])
	i++
	if b[0]&0x1F == 0x1F { // multi-byte tag: subsequent bytes with b8 set continue
		for {
			if i >= len(b) {
				return 0, 0, 0, ErrTruncated
			}
			if i >= 3 {
				return 0, 0, 0, errors.New("tlv: tag longer than 3 bytes")
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return 0, 0, 0, ErrTruncated
	}
	l := b[i]
	i++
	switch {
	case l < 0x80:
		length = int(l)
	case l == 0x80:
		return 0, 0, 0, errors.New("tlv: indefinite length not allowed")
	default:
		n := int(l & 0x7F)
		if n > 4 {
			return 0, 0, 0, fmt.Errorf("tlv: length of %d bytes", n)
		}
		if i+n > len(b) {
			return 0, 0, 0, ErrTruncated
		}
		for k := 0; k < n; k++ {
			length = length<<8 | int(b[i+k])
		}
		if length < 0 || length > 1<<24 {
			return 0, 0, 0, fmt.Errorf("tlv: absurd length %d", length)
		}
		i += n
	}
	return tag, length, i, nil
}

// Parse reads one object from the start of b and returns it with the rest of b.
func Parse(b []byte) (Object, []byte, error) {
	tag, length, hl, err := ParseHeader(b)
	if err != nil {
		return Object{}, nil, err
	}
	if length > len(b)-hl {
		return Object{}, nil, fmt.Errorf("tlv: tag %X wants %d bytes, %d left: %w", tag, length, len(b)-hl, ErrTruncated)
	}
	firstByte := byte(tag >> (8 * uint(tagLen(tag)-1)))
	o := Object{Tag: tag, Value: b[hl : hl+length : hl+length], Constructed: firstByte&0x20 != 0}
	return o, b[hl+length:], nil
}

// ParseAll reads a sequence of objects that must fill b exactly.
func ParseAll(b []byte) ([]Object, error) {
	var out []Object
	for len(b) > 0 {
		o, rest, err := Parse(b)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		b = rest
	}
	return out, nil
}

// Find returns the first object with the given tag among the top-level objects of b.
func Find(b []byte, tag uint32) ([]byte, bool, error) {
	objs, err := ParseAll(b)
	if err != nil {
		return nil, false, err
	}
	for _, o := range objs {
		if o.Tag == tag {
			return o.Value, true, nil
		}
	}
	return nil, false, nil
}

// Unwrap expects b to be exactly one object with the given tag and returns its value.
func Unwrap(b []byte, tag uint32) ([]byte, error) {
	o, rest, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if o.Tag != tag {
		return nil, fmt.Errorf("tlv: tag %X, want %X", o.Tag, tag)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("tlv: %d bytes after tag %X", len(rest), tag)
	}
	return o.Value, nil
}

func tagLen(tag uint32) int {
	switch {
	case tag > 0xFFFF:
		return 3
	case tag > 0xFF:
		return 2
	}
	return 1
}

// Encode builds one object with a definite length.
func Encode(tag uint32, value []byte) []byte {
	out := make([]byte, 0, 3+5+len(value))
	for i := tagLen(tag) - 1; i >= 0; i-- {
		out = append(out, byte(tag>>(8*uint(i))))
	}
	out = AppendLength(out, len(value))
	return append(out, value...)
}

// AppendLength appends a DER definite length.
func AppendLength(out []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(out, byte(n))
	case n <= 0xFF:
		return append(out, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(out, 0x82, byte(n>>8), byte(n))
	case n <= 0xFFFFFF:
		return append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Concat encodes several objects back to back.
func Concat(objs ...[]byte) []byte {
	var out []byte
	for _, o := range objs {
		out = append(out, o...)
	}
	return out
}
