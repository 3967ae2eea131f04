package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"
)

// Languages the UI speaks; Vietnamese is the default.
const (
	LangVI = "vi"
	LangEN = "en"
)

const settingLanguage = "ui.language"

// Officer ids and PINs as the desk accepts them: ids are short ASCII handles (they appear in
// signed records and the audit log), PINs are 6 to 12 digits.
var (
	officerIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{2,32}$`)
	pinPattern       = regexp.MustCompile(`^[0-9]{6,12}$`)
)

// MinPassphraseLen is the shortest desk passphrase the first-start screen accepts (in characters).
const MinPassphraseLen = 12

// SessionState is what the window needs to pick its screen.
type SessionState struct {
	Provisioned bool     `json:"provisioned"`
	DeskID      string   `json:"deskId,omitempty"`
	Officer     *Officer `json:"officer,omitempty"`
	Language    string   `json:"language"`
	// Unlocked tells whether the desk keys are open (approvals can be signed).
	Unlocked bool `json:"unlocked"`
}

// Session is the bound service for first start, login, logout and the UI language.
type Session struct {
	auth     Authenticator
	prov     Provisioner
	settings Settings
	unlocker Unlocker
	events   Emitter
	now      func() time.Time
	started  time.Time

	mu      sync.Mutex
	ctx     context.Context
	officer *Officer
	lang    string
	readyAt time.Time
	// idle logs the officer out after this long without a call from the window (settings
	// timeouts.session, set when the desk opens; 0: never); active is the last call.
	idle   time.Duration
	active time.Time
}

// setIdle sets the idle logout (desk/settings timeouts.session).
func (s *Session) setIdle(d time.Duration) {
	s.mu.Lock()
	s.idle = d
	s.mu.Unlock()
}

// expired logs out an officer idle for longer than the idle timeout; caller holds s.mu. It
// reports whether it did.
func (s *Session) expired(now time.Time) bool {
	if s.officer == nil || s.idle <= 0 || now.Sub(s.active) < s.idle {
		return false
	}
	s.officer = nil
	return true
}

// watchIdle logs an idle officer out on time, so the window goes back to the login screen even
// when nobody touches it, until ctx ends.
func (s *Session) watchIdle(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		out := s.expired(s.now())
		s.mu.Unlock()
		if out {
			slog.Info("officer logged out after being idle")
			s.publish(ctx)
		}
	}
}

func newSession(d Deps, events Emitter) *Session {
	return &Session{auth: d.Auth, prov: d.Provisioner, settings: d.Settings, unlocker: d.Unlocker, events: events, now: d.Now,
		started: d.Now(), ctx: context.Background(), lang: LangVI}
}

func (s *Session) start(ctx context.Context) {
	lang := LangVI
	if s.settings != nil {
		v, found, err := s.settings.Get(ctx, settingLanguage)
		switch {
		case err != nil:
			slog.Warn("read UI language", "err", err)
		case found && (v == LangVI || v == LangEN):
			lang = v
		}
	}
	s.mu.Lock()
	s.ctx, s.lang = ctx, lang
	s.mu.Unlock()
	go s.watchIdle(ctx)
}

func (s *Session) context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

// current returns the logged-in officer or an unauthorized error; every bound call goes through
// it, so it also keeps the session from going idle (or ends one that is).
func (s *Session) current() (Officer, error) {
	s.mu.Lock()
	now := s.now()
	if s.expired(now) {
		ctx := s.ctx
		s.mu.Unlock()
		slog.Info("officer logged out after being idle")
		s.publish(ctx)
		return Officer{}, coded(CodeUnauthorized, errors.New("logged out after being idle"), map[string]string{"reason": "idle"})
	}
	defer s.mu.Unlock()
	if s.officer == nil {
		return Officer{}, coded(CodeUnauthorized, errors.New("no officer logged in"), nil)
	}
	s.active = now
	return *s.officer, nil
}

func (s *Session) state(ctx context.Context) (SessionState, error) {
	deskID, err := s.prov.DeskID(ctx)
	if err != nil {
		return SessionState{}, fmt.Errorf("session state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SessionState{Provisioned: deskID != "", DeskID: deskID, Language: s.lang,
		Unlocked: s.unlocker != nil && s.unlocker.Unlocked()}
	if s.officer != nil {
		o := *s.officer
		st.Officer = &o
	}
	return st, nil
}

func (s *Session) publish(ctx context.Context) {
	if st, err := s.state(ctx); err == nil {
		s.events.Emit(EventSession, st)
	}
}

// State tells whether the desk is provisioned, who is logged in and the UI language.
func (s *Session) State() Response {
	st, err := s.state(s.context())
	if err != nil {
		return fail("Session.State", err)
	}
	return ok(st)
}

// UIReady is called by the window once its first screen is drawn; it logs the time from process
// start (BenchmarkColdStart and the Xvfb smoke test wait for this line).
func (s *Session) UIReady(screen string) Response {
	s.mu.Lock()
	first := s.readyAt.IsZero()
	if first {
		s.readyAt = s.now()
	}
	s.mu.Unlock()
	if first {
		slog.Info("ui ready", "screen", screen, "since_start_ms", s.now().Sub(s.started).Milliseconds())
	}
	return ok(nil)
}

// Provision gives a fresh desk its identity and first supervisor. It is refused once the desk
// has an identity.
func (s *Session) Provision(req ProvisionRequest) Response {
	ctx := s.context()
	if err := validateProvision(req); err != nil {
		return fail("Session.Provision", err)
	}
	deskID, err := s.prov.DeskID(ctx)
	if err != nil {
		return fail("Session.Provision", err)
	}
	if deskID != "" {
		return fail("Session.Provision", coded(CodeProvisioned, errors.New("desk already provisioned"), nil))
	}
	if _, err := s.prov.Provision(ctx, req); err != nil {
		return fail("Session.Provision", fmt.Errorf("provision desk: %w", err))
	}
	slog.Info("desk provisioned")
	st, err := s.state(ctx)
	if err != nil {
		return fail("Session.Provision", err)
	}
	s.events.Emit(EventSession, st)
	return ok(st)
}

func validateProvision(req ProvisionRequest) error {
	switch {
	case utf8.RuneCountInString(req.Passphrase) < MinPassphraseLen:
		return invalid("passphrase", fmt.Errorf("passphrase shorter than %d characters", MinPassphraseLen))
	case !officerIDPattern.MatchString(req.SupervisorID):
		return invalid("officerId", errors.New("officer id must be 2-32 letters, digits, '.', '_' or '-'"))
	case utf8.RuneCountInString(req.SupervisorName) < 2 || utf8.RuneCountInString(req.SupervisorName) > 80:
		return invalid("name", errors.New("name must be 2-80 characters"))
	case !pinPattern.MatchString(req.SupervisorPIN):
		return invalid("pin", errors.New("PIN must be 6-12 digits"))
	}
	return nil
}

func invalid(field string, err error) error {
	return coded(CodeInvalid, err, map[string]string{"field": field})
}

// Login checks the officer's PIN. A wrong PIN answers wrong_pin; a locked account answers locked
// with the time the lock ends.
func (s *Session) Login(officerID, pin string) Response {
	ctx := s.context()
	if !officerIDPattern.MatchString(officerID) || !pinPattern.MatchString(pin) {
		return fail("Session.Login", coded(CodeWrongPIN, ErrWrongPIN, nil))
	}
	deskID, err := s.prov.DeskID(ctx)
	if err != nil {
		return fail("Session.Login", err)
	}
	if deskID == "" {
		return fail("Session.Login", coded(CodeNotProvisioned, errors.New("desk not provisioned"), nil))
	}
	o, err := s.auth.Login(ctx, officerID, pin)
	var locked *LockedError
	switch {
	case errors.As(err, &locked):
		slog.Info("login refused: locked")
		return fail("Session.Login", coded(CodeLocked, err, map[string]string{"until": locked.Until.UTC().Format(time.RFC3339)}))
	case errors.Is(err, ErrWrongPIN):
		slog.Info("login refused: wrong PIN")
		return fail("Session.Login", coded(CodeWrongPIN, err, nil))
	case err != nil:
		return fail("Session.Login", fmt.Errorf("login: %w", err))
	}
	s.mu.Lock()
	s.officer, s.active = &o, s.now()
	s.mu.Unlock()
	slog.Info("officer logged in", "role", o.Role)
	s.publish(ctx)
	return s.State()
}

// Logout ends the officer's session.
func (s *Session) Logout() Response {
	s.mu.Lock()
	s.officer = nil
	s.mu.Unlock()
	s.publish(s.context())
	return s.State()
}

// SetLanguage switches the UI language ("vi" or "en") and remembers it for the desk.
func (s *Session) SetLanguage(lang string) Response {
	if lang != LangVI && lang != LangEN {
		return fail("Session.SetLanguage", invalid("language", fmt.Errorf("unknown language %q", lang)))
	}
	ctx := s.context()
	if s.settings != nil {
		if err := s.settings.Set(ctx, settingLanguage, lang); err != nil {
			return fail("Session.SetLanguage", fmt.Errorf("save UI language: %w", err))
		}
	}
	s.mu.Lock()
	s.lang = lang
	s.mu.Unlock()
	s.publish(ctx)
	return s.State()
}

// UnlockDesk opens the desk keys with the desk passphrase, once per start, so that approved
// records can be signed. Any logged-in officer may do it (the passphrase is the secret).
func (s *Session) UnlockDesk(passphrase string) Response {
	if _, err := s.current(); err != nil {
		return fail("Session.UnlockDesk", err)
	}
	if s.unlocker == nil {
		return fail("Session.UnlockDesk", coded(CodeUnavailable, errors.New("desk unlocking not wired"), nil))
	}
	ctx := s.context()
	if err := s.unlocker.UnlockDesk(ctx, passphrase); err != nil {
		return fail("Session.UnlockDesk", err)
	}
	slog.Info("desk unlocked")
	s.publish(ctx)
	return s.State()
}
