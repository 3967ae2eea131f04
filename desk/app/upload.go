package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
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
	path string // RegistryFile in the data directory, rewritten by certificate renewal
	emit func(QueueStatus)

	mu         sync.Mutex
	registered bool // RegistryFile holds the desk's enrollment
	up         *outbox.Uploader
	ren        *hqsync.Renewer // keeps the short-lived desk certificate current while unlocked
	cancel     context.CancelFunc
	done       chan struct{}

	// From the desk settings (setTimeouts): the uploader's first and longest back-off after a
	// failed sync and the bound on one request to the registry; zero keeps the defaults.
	retry, retryMax, network time.Duration
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
	if u == nil {
		return nil
	}
	u.mu.Lock()
	registered := u.registered
	u.mu.Unlock()
	if !registered {
		return nil
	}
	// The Renewer reads the file itself: it rewrites it on every renewal, and the clients it
	// builds present the current certificate without a restart.
	ren, err := hqsync.OpenRenewer(u.path, key)
	if err != nil {
		return fmt.Errorf("registry enrollment: %w", err)
	}
	client := ren.Client()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.up != nil {
		return nil
	}
	if u.network > 0 && client.HTTP != nil {
		// Same renewing transport, this bound on each request (timeouts.network).
		hc := *client.HTTP
		hc.Timeout = u.network
		client.HTTP = &hc
	}
	up := &outbox.Uploader{Outbox: out, Client: client, MinBackoff: u.retry, MaxBackoff: u.retryMax, OnProgress: func(p outbox.Progress) {
		st := QueueStatus{Queued: p.Queued, Sent: p.Sent, Acked: p.Acked, LastError: p.Err,
			LastAttempt: time.Now().UTC().Format(time.RFC3339), Syncing: p.Syncing, Reason: p.Reason,
			Problem: SyncProblem(p.Err, p.Reason), RetryIn: int(p.RetryIn.Round(time.Second) / time.Second)}
		if !p.LastSynced.IsZero() {
			st.LastSynced = p.LastSynced.UTC().Format(time.RFC3339)
		}
		if u.emit != nil {
			u.emit(st)
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	u.up, u.ren, u.cancel, u.done = up, ren, cancel, make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		if err := ren.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("desk certificate renewal stopped", "err", err)
		}
	}()
	go func(done chan struct{}) {
		defer close(done)
		if err := up.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("uploader stopped", "err", err)
		}
		<-renewed
	}(u.done)
	return nil
}

// setTimeouts takes the sync timeouts from the desk settings (timeouts.sync_retry,
// sync_retry_max, network); they apply to the uploader started at the next unlock.
func (u *uploads) setTimeouts(retry, retryMax, network time.Duration) {
	if u == nil {
		return
	}
	u.mu.Lock()
	u.retry, u.retryMax, u.network = retry, retryMax, network
	u.mu.Unlock()
}

// uploader is the running uploader (nil while locked or unregistered).
func (u *uploads) uploader() *outbox.Uploader {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.up
}

// renewer is the running uploader's certificate renewer (nil while locked or unregistered), whose
// HTTP client the audit shipper shares.
func (u *uploads) renewer() *hqsync.Renewer {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ren
}

// kick asks the uploader to send at once (after a record is released); false when no uploader
// runs (no registry enrollment, or the desk is still locked).
func (u *uploads) kick() bool {
	if u == nil {
		return false
	}
	u.mu.Lock()
	up := u.up
	u.mu.Unlock()
	if up != nil {
		up.Kick()
	}
	return up != nil
}

// SyncNow implements syncKicker: the queue panel's "sync now".
func (b *backend) SyncNow() bool { return b.uploads.kick() }

// Uploading tells whether the uploader runs (the desk is registered and unlocked).
func (b *backend) Uploading() bool {
	b.uploads.mu.Lock()
	defer b.uploads.mu.Unlock()
	return b.uploads.up != nil
}

// UseRegistry gives a running desk the registry enrollment that `enrolldesk register` (or the
// bridge's embedded registry) has just written to RegistryFile, so the uploader starts at the
// next unlock without restarting the window. The enrollment must seal to the recipient the desk
// already seals to, and the desk must still be locked.
func (d *Desk) UseRegistry(ctx context.Context, enrollment []byte) error {
	b := d.backend
	if b.Unlocked() {
		return coded(CodeConflict, errors.New("the desk is already unlocked: restart it to use the new registry enrollment"), nil)
	}
	enr, err := storedEnrollment(ctx, b.db, enrollment)
	if err != nil {
		return err
	}
	r, err := enr.Recipient()
	if err != nil {
		return fmt.Errorf("registry enrollment: %w", err)
	}
	if b.registry == nil || fmt.Sprint(b.registry) != fmt.Sprint(r) {
		return coded(CodeConflict, errors.New("registry enrollment: it seals to another key than the one this desk was started with"), nil)
	}
	// The uploader's Renewer reads and rewrites the file: make it hold this enrollment.
	if err := hqsync.SaveEnrollment(b.uploads.path, enr); err != nil {
		return err
	}
	b.uploads.mu.Lock()
	b.uploads.registered = true
	b.uploads.mu.Unlock()
	return nil
}

// Sync problems the queue panel explains in the officer's language (QueueStatus.Problem).
const (
	SyncUnreachable = "unreachable" // no route, connection refused or reset: the network or the registry is down
	SyncTimeout     = "timeout"     // the registry did not answer in time
	SyncTLS         = "tls"         // the secure channel failed (certificate, clock)
	SyncRefused     = "refused"     // the registry answered and refused the batch (Reason says why)
	SyncOther       = "other"
)

// SyncProblem classifies the uploader's last error. The error crossed the outbox's sync_state
// table as text, so this reads the standard library's wording of network and TLS failures; a
// refusal carries the registry's reason code.
func SyncProblem(errMsg, reason string) string {
	m := strings.ToLower(errMsg)
	switch {
	case errMsg == "" && reason == "":
		return ""
	case reason != "" || strings.Contains(m, "refused the batch") || strings.Contains(m, "registry refused"):
		return SyncRefused
	case strings.Contains(m, "deadline exceeded") || strings.Contains(m, "timeout"):
		return SyncTimeout
	case strings.Contains(m, "connection refused") || strings.Contains(m, "no route to host") ||
		strings.Contains(m, "network is unreachable") || strings.Contains(m, "connection reset") ||
		strings.Contains(m, "no such host") || strings.Contains(m, "broken pipe") || strings.Contains(m, "eof") ||
		strings.Contains(m, "dial tcp"):
		return SyncUnreachable
	case strings.Contains(m, "tls") || strings.Contains(m, "x509") || strings.Contains(m, "certificate"):
		return SyncTLS
	}
	return SyncOther
}

// stop ends the uploader and waits for it.
func (u *uploads) stop() {
	if u == nil {
		return
	}
	u.mu.Lock()
	cancel, done := u.cancel, u.done
	u.up, u.ren, u.cancel, u.done = nil, nil, nil, nil
	u.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// storedEnrollment checks a registry enrollment against this desk's key.
func storedEnrollment(ctx context.Context, db *store.DB, enrollment []byte) (*hqsync.Enrollment, error) {
	d, err := provision.Load(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	enr, err := hqsync.ParseStoredEnrollment(enrollment, d.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	return enr, nil
}

// registryRecipient is the age recipient of the desk's registry enrollment.
func registryRecipient(ctx context.Context, db *store.DB, enrollment []byte) (age.Recipient, error) {
	enr, err := storedEnrollment(ctx, db, enrollment)
	if err != nil {
		return nil, err
	}
	r, err := enr.Recipient()
	if err != nil {
		return nil, fmt.Errorf("registry enrollment: %w", err)
	}
	return r, nil
}
