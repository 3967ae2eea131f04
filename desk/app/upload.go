package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/config"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/store"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/outbox"
)

// RegistryFile in the data directory holds the desk's registry enrollment (hqsync.Enrollment,
// deterministic CBOR), written when the desk was provisioned with the registry. Without it the
// desk keeps its records queued.
const RegistryFile = config.RegistryFile

// uploads runs the outbox uploader once the desk is unlocked, when the desk has a registry
// enrollment, and turns its progress into queue events for the window.
type uploads struct {
	enrollment []byte // the file's bytes; nil: no registry
	emit       func(QueueStatus)

	mu     sync.Mutex
	up     *outbox.Uploader
	cancel context.CancelFunc
	done   chan struct{}
}

func readEnrollment(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	return b, nil
}

// start builds the registry client with the unlocked desk key and runs the uploader until stop.
func (u *uploads) start(out *outbox.Outbox, key ed25519.PrivateKey) error {
	if u == nil || u.enrollment == nil {
		return nil
	}
	enr, err := hqsync.ParseEnrollment(u.enrollment, key.Public().(ed25519.PublicKey))
	if err != nil {
		return fmt.Errorf("registry enrollment: %w", err)
	}
	client, err := enr.Client(key)
	if err != nil {
		return fmt.Errorf("registry client: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.up != nil {
		return nil
	}
	up := &outbox.Uploader{Outbox: out, Client: client, OnProgress: func(p outbox.Progress) {
		st := QueueStatus{Queued: p.Queued, Sent: p.Sent, Acked: p.Acked, LastError: p.Err,
			LastAttempt: time.Now().UTC().Format(time.RFC3339)}
		if !p.LastSynced.IsZero() {
			st.LastSynced = p.LastSynced.UTC().Format(time.RFC3339)
		}
		if u.emit != nil {
			u.emit(st)
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	u.up, u.cancel, u.done = up, cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		if err := up.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("uploader stopped", "err", err)
		}
	}(u.done)
	return nil
}

// kick asks the uploader to send at once (after a record is released).
func (u *uploads) kick() {
	if u == nil {
		return
	}
	u.mu.Lock()
	up := u.up
	u.mu.Unlock()
	if up != nil {
		up.Kick()
	}
}

// stop ends the uploader and waits for it.
func (u *uploads) stop() {
	if u == nil {
		return
	}
	u.mu.Lock()
	cancel, done := u.cancel, u.done
	u.up, u.cancel, u.done = nil, nil, nil
	u.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// registryRecipient is the age recipient of the desk's registry enrollment.
func registryRecipient(ctx context.Context, db *store.DB, enrollment []byte) (age.Recipient, error) {
	d, err := provision.Load(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	enr, err := hqsync.ParseEnrollment(enrollment, d.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	r, err := enr.Recipient()
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	return r, nil
}
