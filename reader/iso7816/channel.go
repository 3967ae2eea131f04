package iso7816

import (
	"context"
	"fmt"
)

// Channel wraps a raw Transmitter with the transport-level rules of ISO/IEC 7816-4 §5.3 and
// ISO/IEC 7816-3 that PC/SC leaves to the application: 61xx (more data: GET RESPONSE) and 6Cxx
// (wrong Le: repeat with Le = xx). It counts the APDUs it sends.
type Channel struct {
	T Transmitter
	// APDUs is the number of command APDUs sent so far, GET RESPONSE included.
	APDUs int
	// Trace, when set, sees every exchange (for debugging; it must not log personal data).
	Trace func(cmd, rsp []byte)
}

// maxGetResponse bounds 61xx chaining so that a hostile card cannot loop us forever.
const maxGetResponse = 1024

// Transmit sends raw APDU bytes and resolves 61xx / 6Cxx; it returns data and SW.
func (c *Channel) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	rsp, err := c.send(ctx, apdu)
	if err != nil {
		return nil, err
	}
	r, err := ParseResponse(rsp)
	if err != nil {
		return nil, err
	}
	if r.SW>>8 == 0x6C && len(apdu) >= 5 { // wrong Le: resend with the length the card names
		again := append([]byte(nil), apdu...)
		again[len(again)-1] = byte(r.SW)
		if rsp, err = c.send(ctx, again); err != nil {
			return nil, err
		}
		if r, err = ParseResponse(rsp); err != nil {
			return nil, err
		}
	}
	data := append([]byte(nil), r.Data...)
	for i := 0; r.SW>>8 == 0x61; i++ {
		if i >= maxGetResponse {
			return nil, fmt.Errorf("iso7816: card keeps answering 61xx after %d GET RESPONSE", i)
		}
		le := r.SW & 0xFF
		// GET RESPONSE: CLA of the command, INS C0, Le = xx (00 = 256).
		rsp, err = c.send(ctx, []byte{apdu[0] &^ 0x0C, 0xC0, 0, 0, byte(le)})
		if err != nil {
			return nil, err
		}
		if r, err = ParseResponse(rsp); err != nil {
			return nil, err
		}
		data = append(data, r.Data...)
	}
	return Response{Data: data, SW: r.SW}.Bytes(), nil
}

func (c *Channel) send(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.APDUs++
	rsp, err := c.T.Transmit(ctx, apdu)
	if c.Trace != nil {
		c.Trace(apdu, rsp)
	}
	return rsp, err
}

// Do encodes cmd, sends it through t and returns the response. A status word other than 9000 or
// 6282 (end of file, a warning with valid data) is returned as *StatusError.
func Do(ctx context.Context, t Transmitter, cmd Command) ([]byte, error) {
	raw, err := cmd.Bytes()
	if err != nil {
		return nil, err
	}
	rsp, err := t.Transmit(ctx, raw)
	if err != nil {
		return nil, err
	}
	r, err := ParseResponse(rsp)
	if err != nil {
		return nil, err
	}
	if r.SW != SWOK && r.SW != SWEndOfFile {
		return nil, &StatusError{SW: r.SW, INS: cmd.INS}
	}
	return r.Data, nil
}
