package pcsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ebfe/scard"
)

// EventKind says what changed at the PC/SC layer.
type EventKind int

// Events a Watcher reports. Reader events come from plugging and unplugging readers (PnP), card
// events from inserting and pulling cards, service events from pcscd stopping and coming back.
const (
	ReaderAdded EventKind = iota + 1
	ReaderRemoved
	CardInserted
	CardRemoved
	// ServiceLost: pcscd stopped answering. Every reader and card it knew is reported removed
	// first; the watcher keeps trying to re-establish a context.
	ServiceLost
	// ServiceBack: a new context is established after ServiceLost (pcscd restarted).
	ServiceBack
)

func (k EventKind) String() string {
	switch k {
	case ReaderAdded:
		return "reader added"
	case ReaderRemoved:
		return "reader removed"
	case CardInserted:
		return "card inserted"
	case CardRemoved:
		return "card removed"
	case ServiceLost:
		return "pcscd lost"
	case ServiceBack:
		return "pcscd back"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is one change. Reader is empty for service events; ATR is set for CardInserted. Err says
// why the service was lost.
type Event struct {
	Kind   EventKind
	Reader string
	ATR    []byte
	Err    error
}

// pnpReader is the pseudo reader whose state changes when a reader is plugged or unplugged
// (PC/SC part 5, SCardGetStatusChange; pcsc-lite implements it and counts the readers in the upper
// 16 bits of its event state).
const pnpReader = `\\?PnP?\Notification`

// WatchOptions tunes Watch. Zero values are sensible.
type WatchOptions struct {
	// Filter keeps only readers whose name contains it (all readers when empty).
	Filter string
	// Step bounds each blocking PC/SC call, so that the context's end is noticed within it and a
	// pcscd without PnP notification is re-listed that often (default 250 ms).
	Step time.Duration
	// Retry is the pause between attempts to re-establish a context with pcscd (default 500 ms).
	Retry time.Duration
	// Log receives service transitions (nothing personal passes here); nil discards.
	Log *slog.Logger

	noPnP bool // tests: behave as with a pcscd that lacks PnP notification
}

// Watch reports reader and card changes until ctx ends, then closes the channel. It starts by
// reporting every reader present (ReaderAdded) and every card already inserted (CardInserted), so
// a consumer needs no separate listing. When pcscd stops it reports the readers and cards as
// removed, then ServiceLost, and keeps re-establishing the PC/SC context; once pcscd answers again
// it reports ServiceBack and the readers and cards it finds. A consumer must keep reading the
// channel (it is buffered, but a stalled consumer stalls the watcher, never drops events).
func Watch(ctx context.Context, opts WatchOptions) <-chan Event {
	if opts.Step <= 0 {
		opts.Step = 250 * time.Millisecond
	}
	if opts.Retry <= 0 {
		opts.Retry = 500 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	out := make(chan Event, 16)
	w := &watcher{opts: opts, out: out, known: map[string]*scard.ReaderState{}}
	go func() {
		defer close(out)
		w.run(ctx)
	}()
	return out
}

type watcher struct {
	opts  WatchOptions
	out   chan<- Event
	known map[string]*scard.ReaderState // readers being watched, by name
	pnp   bool                          // pcscd answers the PnP pseudo reader
}

func (w *watcher) emit(ctx context.Context, e Event) bool {
	select {
	case w.out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) run(ctx context.Context) {
	lost := false
	for ctx.Err() == nil {
		c, err := scard.EstablishContext()
		if err != nil {
			if !lost {
				lost = true
				w.opts.Log.Warn("pcsc: no service", "err", err)
				if !w.emit(ctx, Event{Kind: ServiceLost, Err: fmt.Errorf("pcsc: establish context: %w", err)}) {
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(w.opts.Retry):
			}
			continue
		}
		if lost {
			lost = false
			w.opts.Log.Info("pcsc: service back")
			if !w.emit(ctx, Event{Kind: ServiceBack}) {
				_ = c.Release()
				return
			}
		}
		err = w.session(ctx, c)
		_ = c.Release()
		if err == nil || ctx.Err() != nil {
			return
		}
		// The service went away: everything it knew is gone with it.
		if !w.dropAll(ctx) {
			return
		}
		lost = true
		w.opts.Log.Warn("pcsc: service lost", "err", err)
		if !w.emit(ctx, Event{Kind: ServiceLost, Err: err}) {
			return
		}
	}
}

// dropAll reports every known card and reader as removed and forgets them.
func (w *watcher) dropAll(ctx context.Context) bool {
	names := make([]string, 0, len(w.known))
	for n := range w.known {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !w.remove(ctx, n) {
			return false
		}
	}
	return true
}

func (w *watcher) remove(ctx context.Context, name string) bool {
	st := w.known[name]
	delete(w.known, name)
	if st != nil && st.CurrentState&scard.StatePresent != 0 {
		if !w.emit(ctx, Event{Kind: CardRemoved, Reader: name}) {
			return false
		}
	}
	return w.emit(ctx, Event{Kind: ReaderRemoved, Reader: name})
}

// session watches with one established context until ctx ends (nil) or the service fails (error).
func (w *watcher) session(ctx context.Context, c *scard.Context) error {
	// SCardCancel wakes a blocked SCardGetStatusChange at once when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = c.Cancel() })
	defer stop()
	w.pnp = !w.opts.noPnP
	pnpState := scard.ReaderState{Reader: pnpReader, CurrentState: scard.StateUnaware}
	relist := true
	lastList := time.Time{}
	for {
		if ctx.Err() != nil {
			return nil
		}
		if relist || (!w.pnp && time.Since(lastList) >= w.opts.Step) {
			if err := w.sync(ctx, c); err != nil {
				return err
			}
			relist, lastList = false, time.Now()
		}
		names := make([]string, 0, len(w.known))
		for n := range w.known {
			names = append(names, n)
		}
		slices.Sort(names)
		rs := make([]scard.ReaderState, 0, len(names)+1)
		for _, n := range names {
			rs = append(rs, *w.known[n])
		}
		if w.pnp {
			rs = append(rs, pnpState)
		}
		if len(rs) == 0 {
			// Nothing to block on (no readers and no PnP): poll the list.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(w.opts.Step):
			}
			relist = true
			continue
		}
		err := getStatusChange(c, rs, w.opts.Step)
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrTimeout):
			if !w.pnp {
				relist = true
			}
			continue
		case errors.Is(err, scard.ErrCancelled):
			return nil
		case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
			// A reader vanished between listing and waiting: list again.
			relist = true
			continue
		default:
			return fmt.Errorf("pcsc: status change: %w", err)
		}
		if w.pnp {
			p := rs[len(rs)-1]
			if p.EventState&scard.StateUnknown != 0 {
				// This pcscd has no PnP notification: fall back to listing every Step.
				w.pnp = false
				w.opts.Log.Info("pcsc: no PnP notification, polling the reader list")
			} else if p.EventState&scard.StateChanged != 0 {
				relist = true
			}
			pnpState.CurrentState = p.EventState &^ scard.StateChanged
			rs = rs[:len(rs)-1]
		}
		for i := range rs {
			if !w.update(ctx, &rs[i]) {
				return nil
			}
			if rs[i].EventState&(scard.StateUnknown|scard.StateUnavailable) != 0 {
				relist = true
			}
		}
	}
}

// sync lists the readers and reports the ones added and removed since the last listing; a new
// reader's state is read at once, so a card already inside is reported as inserted.
func (w *watcher) sync(ctx context.Context, c *scard.Context) error {
	names, err := c.ListReaders()
	if err != nil && !errors.Is(err, scard.ErrNoReadersAvailable) {
		return fmt.Errorf("pcsc: list readers: %w", err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.Contains(n, w.opts.Filter) })
	for n := range w.known {
		if !slices.Contains(names, n) {
			if !w.remove(ctx, n) {
				return nil
			}
		}
	}
	var added []scard.ReaderState
	for _, n := range names {
		if _, ok := w.known[n]; !ok {
			w.known[n] = &scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
			if !w.emit(ctx, Event{Kind: ReaderAdded, Reader: n}) {
				return nil
			}
			added = append(added, *w.known[n])
		}
	}
	if len(added) == 0 {
		return nil
	}
	if err := getStatusChange(c, added, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		if errors.Is(err, scard.ErrUnknownReader) || errors.Is(err, scard.ErrReaderUnavailable) {
			return nil // gone again; the next listing reports it
		}
		return fmt.Errorf("pcsc: status of new readers: %w", err)
	}
	for i := range added {
		w.update(ctx, &added[i])
	}
	return nil
}

// update records one reader's new state and reports a card arriving or leaving.
func (w *watcher) update(ctx context.Context, st *scard.ReaderState) bool {
	k := w.known[st.Reader]
	if k == nil || st.EventState&scard.StateChanged == 0 {
		return true
	}
	was := k.CurrentState&scard.StatePresent != 0
	now := st.EventState&scard.StatePresent != 0 && st.EventState&scard.StateUnknown == 0
	k.CurrentState = st.EventState &^ scard.StateChanged
	if !now {
		k.CurrentState &^= scard.StatePresent
	}
	switch {
	case now && !was:
		return w.emit(ctx, Event{Kind: CardInserted, Reader: st.Reader, ATR: slices.Clone(st.Atr)})
	case !now && was:
		return w.emit(ctx, Event{Kind: CardRemoved, Reader: st.Reader})
	}
	return true
}
