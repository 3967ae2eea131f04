// Package iso7816 holds ISO/IEC 7816-4 command and response APDUs (short and extended length), status
// words, the Transmitter seam every protocol layer talks through, and ATR capability parsing.
package iso7816

import (
	"context"
	"errors"
	"fmt"
)

// Transmitter sends one command APDU and returns the response APDU (data followed by SW1 SW2).
// The PC/SC layer (reader/pcsc), secure messaging (reader/sm) and test doubles implement it.
type Transmitter interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// TransmitFunc adapts a function to Transmitter.
type TransmitFunc func(ctx context.Context, apdu []byte) ([]byte, error)

// Transmit calls f.
func (f TransmitFunc) Transmit(ctx context.Context, apdu []byte) ([]byte, error) { return f(ctx, apdu) }

// Command is a command APDU. Ne is the number of response bytes expected: 0 means no Le field; a
// value of 256 (short) or 65536 (extended) asks for "as many as available" (Le = 00 / 0000).
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
}

// Limits of ISO/IEC 7816-4 §5.1 (coding of Lc and Le).
const (
	MaxShortLc    = 255
	MaxShortNe    = 256
	MaxExtendedLc = 65535
	MaxExtendedNe = 65536
)

// ErrTooLong means the command does not fit the chosen length encoding.
var ErrTooLong = errors.New("iso7816: command data or Le too long")

// Extended reports whether the command needs the extended length encoding.
func (c Command) Extended() bool { return len(c.Data) > MaxShortLc || c.Ne > MaxShortNe }

// Bytes encodes the command, choosing short encoding when it fits and extended otherwise
// (ISO/IEC 7816-4 §5.1: cases 1, 2S/2E, 3S/3E, 4S/4E).
func (c Command) Bytes() ([]byte, error) {
	return c.encode(c.Extended())
}

// BytesExtended forces the extended length encoding (used when one side of a protected command
// needs it, e.g. secure messaging where the outer Le must match the inner one).
func (c Command) BytesExtended() ([]byte, error) { return c.encode(true) }

func (c Command) encode(ext bool) ([]byte, error) {
	if len(c.Data) > MaxExtendedLc || c.Ne > MaxExtendedNe || c.Ne < 0 {
		return nil, ErrTooLong
	}
	if !ext && (len(c.Data) > MaxShortLc || c.Ne > MaxShortNe) {
		return nil, ErrTooLong
	}
	out := make([]byte, 0, 4+3+len(c.Data)+3)
	out = append(out, c.CLA, c.INS, c.P1, c.P2)
	if !ext {
		if len(c.Data) > 0 {
			out = append(out, byte(len(c.Data)))
			out = append(out, c.Data...)
		}
		if c.Ne > 0 {
			out = append(out, byte(c.Ne)) // 256 encodes as 00
		}
		return out, nil
	}
	if len(c.Data) == 0 && c.Ne == 0 {
		return out, nil // case 1 has no length fields at all
	}
	out = append(out, 0)
	if len(c.Data) > 0 {
		out = append(out, byte(len(c.Data)>>8), byte(len(c.Data)))
		out = append(out, c.Data...)
	}
	if c.Ne > 0 {
		out = append(out, byte(c.Ne>>8), byte(c.Ne)) // 65536 encodes as 0000
	}
	return out, nil
}

// ParseCommand decodes a command APDU (any of the seven cases of ISO/IEC 7816-4 §5.1).
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("iso7816: command of %d bytes, need at least 4", len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Ne = int(body[0])
		if c.Ne == 0 {
			c.Ne = MaxShortNe
		}
		return c, nil
	case body[0] != 0: // case 3S / 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.Ne = int(body[1+lc])
			if c.Ne == 0 {
				c.Ne = MaxShortNe
			}
		default:
			return Command{}, fmt.Errorf("iso7816: short Lc %d does not match body of %d bytes", lc, len(body))
		}
		c.Data = body[1 : 1+lc]
		return c, nil
	}
	// Extended: body[0] == 0 and at least 3 bytes.
	if len(body) == 3 { // case 2E
		c.Ne = int(body[1])<<8 | int(body[2])
		if c.Ne == 0 {
			c.Ne = MaxExtendedNe
		}
		return c, nil
	}
	if len(body) < 3 {
		return Command{}, fmt.Errorf("iso7816: malformed extended length (%d bytes)", len(body))
	}
	lc := int(body[1])<<8 | int(body[2])
	if lc == 0 {
		return Command{}, errors.New("iso7816: extended Lc of zero")
	}
	switch len(body) {
	case 3 + lc:
	case 5 + lc:
		c.Ne = int(body[3+lc])<<8 | int(body[4+lc])
		if c.Ne == 0 {
			c.Ne = MaxExtendedNe
		}
	default:
		return Command{}, fmt.Errorf("iso7816: extended Lc %d does not match body of %d bytes", lc, len(body))
	}
	c.Data = body[3 : 3+lc]
	return c, nil
}

// Response is a decoded response APDU.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits a response APDU into data and status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("iso7816: response of %d bytes, need a status word", len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// Bytes encodes the response.
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, byte(r.SW>>8), byte(r.SW))
}

// Status words used across the reader (ISO/IEC 7816-4 §5.6).
const (
	SWOK                     uint16 = 0x9000
	SWEndOfFile              uint16 = 0x6282 // end of file reached before reading Ne bytes
	SWWrongLength            uint16 = 0x6700
	SWSecurityNotSatisfied   uint16 = 0x6982
	SWAuthMethodBlocked      uint16 = 0x6983
	SWConditionsNotSatisfied uint16 = 0x6985
	SWSMObjectsMissing       uint16 = 0x6987
	SWSMObjectsIncorrect     uint16 = 0x6988
	SWFileNotFound           uint16 = 0x6A82
	SWWrongP1P2              uint16 = 0x6B00
	SWInsNotSupported        uint16 = 0x6D00
	SWClaNotSupported        uint16 = 0x6E00
	SWUnknown                uint16 = 0x6F00
)

// StatusError is a status word other than 9000 returned for a command.
type StatusError struct {
	SW  uint16
	INS byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("card answered %04X to INS %02X (%s)", e.SW, e.INS, describe(e.SW))
}

// IsStatus reports whether err is a StatusError with the given status word.
func IsStatus(err error, sw uint16) bool {
	var se *StatusError
	return errors.As(err, &se) && se.SW == sw
}

func describe(sw uint16) string {
	switch {
	case sw == SWOK:
		return "ok"
	case sw == SWEndOfFile:
		return "end of file"
	case sw == SWWrongLength:
		return "wrong length"
	case sw == SWSecurityNotSatisfied:
		return "security status not satisfied"
	case sw == SWAuthMethodBlocked:
		return "authentication method blocked"
	case sw == SWConditionsNotSatisfied:
		return "conditions of use not satisfied"
	case sw == SWSMObjectsMissing:
		return "expected secure messaging objects missing"
	case sw == SWSMObjectsIncorrect:
		return "secure messaging objects incorrect"
	case sw == SWFileNotFound:
		return "file not found"
	case sw == SWWrongP1P2:
		return "wrong parameters P1-P2 (offset outside the file)"
	case sw == SWInsNotSupported:
		return "instruction not supported"
	case sw == SWClaNotSupported:
		return "class not supported"
	case sw>>8 == 0x63:
		return "verification failed"
	}
	return "error"
}
