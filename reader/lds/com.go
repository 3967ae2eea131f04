package lds

import (
	"fmt"
	"sort"

	"enrolldesk/reader/tlv"
)

// Com is EF.COM (ICAO Doc 9303 part 10 §4.6.1).
type Com struct {
	LDSVersion     string // e.g. "0107"
	UnicodeVersion string // e.g. "040000"
	DataGroups     []int
}

// ParseCOM decodes EF.COM.
func ParseCOM(b []byte) (*Com, error) {
	v, err := tlv.Unwrap(b, 0x60)
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	objs, err := tlv.ParseAll(v)
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	c := &Com{}
	for _, o := range objs {
		switch o.Tag {
		case 0x5F01:
			c.LDSVersion = string(o.Value)
		case 0x5F36:
			c.UnicodeVersion = string(o.Value)
		case 0x5C:
			for _, t := range o.Value {
				n, ok := DGTags[t]
				if !ok {
					return nil, fmt.Errorf("EF.COM: unknown data group tag %02X", t)
				}
				c.DataGroups = append(c.DataGroups, n)
			}
		}
	}
	return c, nil
}

// Bytes encodes EF.COM.
func (c *Com) Bytes() []byte {
	var tags []byte
	dgs := append([]int(nil), c.DataGroups...)
	sort.Ints(dgs)
	for _, n := range dgs {
		for t, m := range DGTags {
			if m == n {
				tags = append(tags, t)
			}
		}
	}
	return tlv.Encode(0x60, tlv.Concat(
		tlv.Encode(0x5F01, []byte(c.LDSVersion)),
		tlv.Encode(0x5F36, []byte(c.UnicodeVersion)),
		tlv.Encode(0x5C, tags)))
}
