package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
)

// Progress is what the GUI shows about sync.
type Progress struct {
	Counts
	Head       uint64
	AckedSeq   uint64
	LastSynced time.Time // the officer's "last synced": every record released then was acknowledged
	Syncing    bool      // a batch is in flight
	Err        string    // the last error, "" after a success
	Reason     string    // the registry's refusal reason, if it refused
	RetryIn    time.Duration
}

// Uploader drains the outbox to the registry. It never re-signs: it sends the stored envelopes.
type Uploader struct {
	Outbox *Outbox
	Client *Client
	// MaxRecords and MaxBytes bound one batch (defaults 500 and 8 MiB).
	MaxRecords int
	MaxBytes   int
	// MinBackoff and MaxBackoff bound the retry delay after a failure (defaults 1 s and 5 min);
	// the delay doubles per consecutive failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Interval is how often an idle uploader looks for new records (default 30 s); Kick wakes
	// it at once.
	Interval time.Duration
	// OnProgress, when set, receives progress after every batch and every failure.
	OnProgress func(Progress)
	Log        *slog.Logger

	mu   sync.Mutex // one sync at a time
	kick chan struct{}
	once sync.Once
}

func (u *Uploader) init() {
	u.once.Do(func() {
		u.kick = make(chan struct{}, 1)
		if u.MaxRecords <= 0 {
			u.MaxRecords = 500
		}
		if u.MaxBytes <= 0 {
			u.MaxBytes = 8 << 20
		}
		if u.MinBackoff <= 0 {
			u.MinBackoff = time.Second
		}
		if u.MaxBackoff <= 0 {
			u.MaxBackoff = 5 * time.Minute
		}
		if u.Interval <= 0 {
			u.Interval = 30 * time.Second
		}
		if u.Log == nil {
			u.Log = slog.Default()
		}
	})
}

// Kick asks a running uploader to sync now (call it after Append).
func (u *Uploader) Kick() {
	u.init()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// ErrFork means the registry's chain for this desk is not the desk's: a human must look.
var ErrFork = errors.New("registry chain and desk chain disagree")

// SyncOnce resumes from the registry's head and sends batches until the outbox is drained. It
// returns nil when everything released before the call is acknowledged.
func (u *Uploader) SyncOnce(ctx context.Context) error {
	u.init()
	u.mu.Lock()
	defer u.mu.Unlock()
	rc, err := u.Client.Head(ctx, u.knownLog(ctx))
	if err != nil {
		return u.fail(ctx, err)
	}
	if err := u.accept(ctx, rc, nil); err != nil {
		return u.fail(ctx, err)
	}
	after := rc.Seq
	u.progress(ctx, true, "", "")
	for gaps := 0; ; {
		err := u.drain(ctx, after)
		ref, ok := IsRefusal(err)
		if ok && ref.Reason == protocol.ReasonGap && gaps < 3 {
			// The registry lost track of us or we of it: resume from its head.
			gaps++
			after = ref.Head
			continue
		}
		if err != nil {
			return u.fail(ctx, err)
		}
		u.progress(ctx, false, "", "")
		return nil
	}
}

type prepared struct {
	last   uint64
	batch  *protocol.Batch
	hashes []record.Hash
	err    error
}

// lastCheckpoint returns the registry log checkpoint the desk verified last (nil: none).
func (u *Uploader) lastCheckpoint(ctx context.Context) (*protocol.Checkpoint, error) {
	b, err := u.Outbox.Checkpoint(ctx)
	if err != nil || b == nil {
		return nil, err
	}
	return protocol.VerifyCheckpoint(b, u.Client.RegistryKey)
}

func (u *Uploader) knownLog(ctx context.Context) uint64 {
	if cp, err := u.lastCheckpoint(ctx); err == nil && cp != nil {
		return cp.Size
	}
	return 0
}

// accept verifies a receipt's log part (the new checkpoint extends the last one; the records it
// says were newly stored are in the log) and records the receipt. sent holds the chain hashes of
// the batch's records, from its first sequence on (nil for a head query).
func (u *Uploader) accept(ctx context.Context, rc *Receipt, sent []record.Hash) error {
	prev, err := u.lastCheckpoint(ctx)
	if err != nil {
		return err
	}
	var fresh []record.Hash
	if rc.Stored > 0 {
		// The newly stored records end at rc.Seq; they are the tail of what was sent.
		if rc.Stored > len(sent) {
			return fmt.Errorf("%w: receipt claims %d new records of a batch of %d", protocol.ErrLogInconsistent, rc.Stored, len(sent))
		}
		fresh = sent[len(sent)-rc.Stored:]
	}
	if _, err := protocol.VerifyLog(rc.Receipt, u.Client.RegistryKey, prev, fresh); err != nil {
		return fmt.Errorf("%w: %v", ErrFork, err)
	}
	if err := u.Outbox.Ack(ctx, rc.Seq, rc.Head, rc.Raw, rc.Checkpoint); err != nil {
		if errors.Is(err, ErrForeignHead) {
			err = fmt.Errorf("%w: %v", ErrFork, err)
		}
		return err
	}
	return nil
}

// drain sends batches from after until the outbox is empty. The next batch is read, decrypted and
// encoded while the current one is in flight, so desk and registry work overlap.
func (u *Uploader) drain(ctx context.Context, after uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan prepared, 1)
	go func() {
		defer close(batches)
		next := after
		for {
			ps, err := u.Outbox.Next(ctx, next, u.MaxRecords, u.MaxBytes)
			if err != nil || len(ps) == 0 {
				if err != nil {
					select {
					case batches <- prepared{err: err}:
					case <-ctx.Done():
					}
				}
				return
			}
			bt := &protocol.Batch{Version: protocol.Version, DeskID: u.Outbox.DeskID(), Records: make([]protocol.BatchRecord, len(ps))}
			hashes := make([]record.Hash, len(ps))
			for i := range ps {
				bt.Records[i] = protocol.BatchRecord{Envelope: ps[i].Envelope, Blobs: ps[i].Blobs}
				hashes[i] = ps[i].Hash
			}
			next = ps[len(ps)-1].Seq
			select {
			case batches <- prepared{last: next, batch: bt, hashes: hashes}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for p := range batches {
		if p.err != nil {
			return p.err
		}
		if err := u.Outbox.MarkSent(ctx, p.last); err != nil {
			return err
		}
		p.batch.KnownLog = u.knownLog(ctx)
		rc, err := u.Client.Send(ctx, p.batch)
		if err != nil {
			return err
		}
		// Newly stored records are the batch's tail ending at rc.Seq.
		sent := p.hashes
		if first := p.last - uint64(len(p.hashes)) + 1; rc.Seq >= first && rc.Seq <= p.last {
			sent = p.hashes[:rc.Seq-first+1]
		}
		if err := u.accept(ctx, rc, sent); err != nil {
			return err
		}
		if rc.Seq < p.last {
			return fmt.Errorf("registry acknowledged up to %d of a batch ending at %d", rc.Seq, p.last)
		}
		u.progress(ctx, true, "", "")
	}
	return ctx.Err()
}

func (u *Uploader) fail(ctx context.Context, err error) error {
	reason := ""
	if ref, ok := IsRefusal(err); ok {
		reason = string(ref.Reason)
	}
	if ctx.Err() == nil {
		if nerr := u.Outbox.NoteError(ctx, err.Error()); nerr != nil {
			u.Log.Warn("note sync error", "err", nerr)
		}
	}
	u.progress(ctx, false, err.Error(), reason)
	return err
}

func (u *Uploader) progress(ctx context.Context, syncing bool, errMsg, reason string) {
	if u.OnProgress == nil {
		return
	}
	p := Progress{Syncing: syncing, Err: errMsg, Reason: reason}
	if c, err := u.Outbox.Counts(ctx); err == nil {
		p.Counts = c
	}
	if st, err := u.Outbox.SyncState(ctx); err == nil {
		p.Head, p.AckedSeq, p.LastSynced = st.Head, st.AckedSeq, st.LastSynced
	}
	u.OnProgress(p)
}

// Backoff returns the delay before retry number n (0-based): MinBackoff·2ⁿ capped at MaxBackoff,
// with "equal jitter" (half fixed, half random) so that desks coming back online together after an
// outage do not stampede the registry.
func (u *Uploader) Backoff(n int) time.Duration {
	u.init()
	d := u.MinBackoff
	for i := 0; i < n && d < u.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, u.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// Run syncs until ctx ends: at start, on Kick, every Interval, and after failures with
// exponential backoff. A refusal that retrying cannot fix (fork, bad signature) is retried at
// MaxBackoff, so that it stays visible without hammering the registry.
func (u *Uploader) Run(ctx context.Context) error {
	u.init()
	failures := 0
	for {
		err := u.SyncOnce(ctx)
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			failures = 0
			wait = u.Interval
		default:
			ref, refused := IsRefusal(err)
			if refused && !ref.Retryable() || errors.Is(err, ErrFork) {
				wait = u.MaxBackoff
			} else {
				wait = u.Backoff(failures)
			}
			failures++
			u.Log.Warn("sync failed", "err", err, "retry_in", wait)
			if u.OnProgress != nil {
				p := Progress{Err: err.Error(), RetryIn: wait}
				if refused {
					p.Reason = string(ref.Reason)
				}
				if c, cerr := u.Outbox.Counts(ctx); cerr == nil {
					p.Counts = c
				}
				u.OnProgress(p)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-u.kick:
			t.Stop()
		case <-t.C:
		}
	}
}
