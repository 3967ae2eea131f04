// Package pcsc is the reader's only way to a card: PC/SC through github.com/ebfe/scard on pcscd.
// It lists readers, waits for a card with context cancellation, connects T=0/T=1, and implements
// iso7816.Transmitter over the card handle.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// Context is an established PC/SC context.
type Context struct {
	ctx *scard.Context
}

// Establish opens a PC/SC context (pcscd must be running).
func Establish() (*Context, error) {
	c, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("pcsc: establish context (is pcscd running?): %w", err)
	}
	return &Context{ctx: c}, nil
}

// Release frees the context.
func (c *Context) Release() error { return c.ctx.Release() }

// Readers lists the reader names.
func (c *Context) Readers() ([]string, error) {
	r, err := c.ctx.ListReaders()
	if err != nil {
		if errors.Is(err, scard.ErrNoReadersAvailable) {
			return nil, nil
		}
		return nil, fmt.Errorf("pcsc: list readers: %w", err)
	}
	return r, nil
}

// FindReader returns the first reader whose name contains substr (any reader when empty).
func (c *Context) FindReader(substr string) (string, error) {
	rs, err := c.Readers()
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if strings.Contains(r, substr) {
			return r, nil
		}
	}
	return "", fmt.Errorf("pcsc: no reader matching %q among %d", substr, len(rs))
}

// statusMu serialises SCardGetStatusChange: github.com/ebfe/scard keeps the reader names of every
// call in one unsynchronised package map (pinned, scard_unix.go), so two concurrent calls (a
// Watch and a read waiting for its card) would corrupt it. A blocked call holds it at most one
// poll step.
var statusMu sync.Mutex

func getStatusChange(c *scard.Context, rs []scard.ReaderState, timeout time.Duration) error {
	statusMu.Lock()
	defer statusMu.Unlock()
	return c.GetStatusChange(rs, timeout)
}

// pollStep bounds each SCardGetStatusChange so that context cancellation is noticed promptly.
const pollStep = 250 * time.Millisecond

// WaitCard blocks until a card is present in reader (or ctx ends).
func (c *Context) WaitCard(ctx context.Context, reader string) error {
	return c.wait(ctx, reader, scard.StatePresent, true)
}

// WaitRemoved blocks until the reader is empty (or ctx ends).
func (c *Context) WaitRemoved(ctx context.Context, reader string) error {
	return c.wait(ctx, reader, scard.StatePresent, false)
}

func (c *Context) wait(ctx context.Context, reader string, flag scard.StateFlag, want bool) error {
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := getStatusChange(c.ctx, rs, pollStep)
		if err != nil && !errors.Is(err, scard.ErrTimeout) {
			return fmt.Errorf("pcsc: status of %q: %w", reader, err)
		}
		if err == nil {
			if (rs[0].EventState&flag != 0) == want && rs[0].EventState&scard.StateUnknown == 0 {
				return nil
			}
			rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
		}
	}
}

// Card is a connected card; it implements iso7816.Transmitter.
type Card struct {
	card   *scard.Card
	ctx    *Context
	reader string
}

// Connect connects to the card in reader (shared mode, T=0 or T=1).
func (c *Context) Connect(reader string) (*Card, error) {
	card, err := c.ctx.Connect(reader, scard.ShareExclusive, scard.ProtocolT0|scard.ProtocolT1)
	if err != nil {
		return nil, fmt.Errorf("pcsc: connect to %q: %w", reader, err)
	}
	return &Card{card: card, ctx: c, reader: reader}, nil
}

// ATR returns the card's answer to reset.
func (k *Card) ATR() ([]byte, error) {
	st, err := k.card.Status()
	if err != nil {
		return nil, fmt.Errorf("pcsc: status: %w", err)
	}
	return st.Atr, nil
}

// Reset warm-resets the card (dropping any chip session) and keeps the connection.
func (k *Card) Reset() error {
	if err := k.card.Reconnect(scard.ShareExclusive, scard.ProtocolT0|scard.ProtocolT1, scard.ResetCard); err != nil {
		return fmt.Errorf("pcsc: reset: %w", err)
	}
	return nil
}

// ErrCardRemoved means the card left the reader during the exchange.
var ErrCardRemoved = errors.New("pcsc: card removed")

// Transmit sends one APDU. PC/SC calls cannot be interrupted, so ctx is checked before sending.
func (k *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rsp, err := k.card.Transmit(apdu)
	if err != nil {
		if errors.Is(err, scard.ErrRemovedCard) || errors.Is(err, scard.ErrNoSmartcard) || errors.Is(err, scard.ErrResetCard) {
			return nil, fmt.Errorf("%w: %v", ErrCardRemoved, err)
		}
		// A card pulled during the exchange may also fail the transaction (SCARD_E_NOT_TRANSACTED,
		// SCARD_F_COMM_ERROR) before pcscd's next poll notices it has gone; tell which.
		if k.gone(ctx) {
			return nil, fmt.Errorf("%w: %v", ErrCardRemoved, err)
		}
		return nil, fmt.Errorf("pcsc: transmit: %w", err)
	}
	if len(rsp) < 2 {
		// Some drivers (vpcd among them) answer an empty buffer when the card has gone, before
		// pcscd's next poll notices; give it a moment to tell which.
		if k.gone(ctx) {
			return nil, fmt.Errorf("%w: empty response", ErrCardRemoved)
		}
		return nil, fmt.Errorf("pcsc: response of %d bytes", len(rsp))
	}
	return rsp, nil
}

// gone reports whether the reader shows no card within 2 s (pcscd polls the reader about every
// 400 ms), after an exchange failed.
func (k *Card) gone(ctx context.Context) bool {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return k.ctx.WaitRemoved(wctx, k.reader) == nil
}

// Close disconnects and resets the card, so that no chip session (selected application, secure
// messaging keys) outlives this connection and the next reader starts clean.
func (k *Card) Close() error { return k.card.Disconnect(scard.ResetCard) }
