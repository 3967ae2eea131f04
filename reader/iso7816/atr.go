package iso7816

import "errors"

// ATRInfo is what the reader needs from an Answer-To-Reset.
type ATRInfo struct {
	Historical []byte
	// ExtendedLength is true when the card capabilities (ISO/IEC 7816-4 §12.1.1.9, compact-TLV
	// tag 0x73, third software function byte, b7) announce extended Lc and Le fields.
	ExtendedLength bool
	// ExtendedInfoInEFATR is b6 of the same byte: extended length information in EF.ATR/INFO.
	ExtendedInfoInEFATR bool
}

// ParseATR walks the interface bytes of an ATR (ISO/IEC 7816-3 §8.2) to find the historical bytes,
// then the card capabilities in them.
func ParseATR(atr []byte) (ATRInfo, error) {
	if len(atr) < 2 {
		return ATRInfo{}, errors.New("iso7816: ATR too short")
	}
	t0 := atr[1]
	k := int(t0 & 0x0F)
	i := 2
	y := t0 >> 4
	for {
		for bit := byte(1); bit <= 8; bit <<= 1 {
			if y&bit != 0 {
				if i >= len(atr) {
					return ATRInfo{}, errors.New("iso7816: ATR truncated in interface bytes")
				}
				i++
			}
		}
		if y&0x8 == 0 {
			break
		}
		td := atr[i-1]
		y = td >> 4
	}
	if i+k > len(atr) {
		return ATRInfo{}, errors.New("iso7816: ATR truncated in historical bytes")
	}
	info := ATRInfo{Historical: append([]byte(nil), atr[i:i+k]...)}
	h := info.Historical
	// Category indicator 0x80: a sequence of compact-TLV objects follows (ISO/IEC 7816-4 §12.1.1).
	if len(h) > 0 && h[0] == 0x80 {
		for j := 1; j < len(h); {
			tag, l := h[j]>>4, int(h[j]&0x0F)
			if j+1+l > len(h) {
				break
			}
			if tag == 0x7 && l >= 3 {
				b3 := h[j+3]
				info.ExtendedLength = b3&0x40 != 0
				info.ExtendedInfoInEFATR = b3&0x20 != 0
			}
			j += 1 + l
		}
	}
	return info, nil
}
