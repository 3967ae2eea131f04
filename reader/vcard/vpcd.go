package vcard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultVPCD is where Debian's vsmartcard-vpcd listens for its card (CHANNELID 0x8C7B in
// /etc/reader.conf.d/vpcd).
const DefaultVPCD = "127.0.0.1:35963"

// vpcd control messages (one-byte payloads, vsmartcard's vpcd protocol).
const (
	vpcdPowerOff = 0
	vpcdPowerOn  = 1
	vpcdReset    = 2
	vpcdGetATR   = 4
)

// Serve connects to vpcd at addr as the card and answers until ctx ends, the connection closes, or
// the card is pulled (Options.PullAfter), which returns ErrPulled. Closing the connection is what
// vpcd sees as the card leaving the reader.
func (c *Card) Serve(ctx context.Context, addr string) error {
	// vpcd has one card slot: hold the machine-wide lock while connected, so that two processes
	// never insert cards into the same reader. A private vpcd on another port (a test's own
	// pcscd) needs no lock.
	if addr == DefaultVPCD {
		release, err := AcquireVPCD(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	return c.ServeHeld(ctx, addr)
}

// ServeHeld is Serve for a process whose parent holds the machine-wide vpcd lock on its behalf
// (a test that runs cmd/vcard as a child process to kill it mid-read): it does not take the lock.
func (c *Card) ServeHeld(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("vcard: connect to vpcd: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	served := 0
	hdr := make([]byte, 2)
	for {
		quickAck(conn)
		if _, err := io.ReadFull(conn, hdr); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("vcard: read from vpcd: %w", err)
		}
		n := int(binary.BigEndian.Uint16(hdr))
		msg := make([]byte, n)
		quickAck(conn)
		if _, err := io.ReadFull(conn, msg); err != nil {
			return fmt.Errorf("vcard: read from vpcd: %w", err)
		}
		var out []byte
		if n == 1 {
			switch msg[0] {
			case vpcdPowerOff, vpcdPowerOn, vpcdReset:
				c.Reset()
				continue // no answer
			case vpcdGetATR:
				out = c.ATR()
			default:
				continue
			}
		} else {
			served++
			if c.opts.PullAfter > 0 && served > c.opts.PullAfter {
				return ErrPulled
			}
			out = c.Process(msg)
		}
		frame := make([]byte, 2+len(out))
		binary.BigEndian.PutUint16(frame, uint16(len(out)))
		copy(frame[2:], out)
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(frame); err != nil {
			return fmt.Errorf("vcard: write to vpcd: %w", err)
		}
	}
}
