package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Roles an officer can hold (DESIGN.md, security model).
const (
	RoleOfficer    = "officer"
	RoleSupervisor = "supervisor"
)

// Officer is who is logged in. It holds no secret.
type Officer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// Authenticator checks an officer's PIN and applies the lockout policy. Login returns
// ErrWrongPIN for an unknown officer or a wrong PIN, and a *LockedError while the account is
// locked (including on the attempt that locks it).
type Authenticator interface {
	Login(ctx context.Context, officerID, pin string) (Officer, error)
}

// ErrWrongPIN is returned by Authenticator.Login for an unknown officer or a wrong PIN (one error
// for both, so the screen does not reveal which officer ids exist).
var ErrWrongPIN = errors.New("wrong officer id or PIN")

// LockedError is returned by Authenticator.Login while an officer is locked out.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("officer locked until %s", e.Until.UTC().Format(time.RFC3339))
}

// ProvisionRequest is what the first-start screen collects: the desk passphrase that seals the
// desk keys, and the first supervisor account.
type ProvisionRequest struct {
	Passphrase     string `json:"passphrase"`
	SupervisorID   string `json:"supervisorId"`
	SupervisorName string `json:"supervisorName"`
	SupervisorPIN  string `json:"supervisorPin"`
}

// Provisioner gives the desk its identity on first start (desk id, Ed25519 keys sealed under the
// passphrase, first supervisor).
type Provisioner interface {
	// DeskID returns the desk id, or "" when the desk is not provisioned yet.
	DeskID(ctx context.Context) (string, error)
	Provision(ctx context.Context, req ProvisionRequest) (deskID string, err error)
}

// Settings keeps small desk-wide preferences (the UI language).
type Settings interface {
	Get(ctx context.Context, key string) (value string, found bool, err error)
	Set(ctx context.Context, key, value string) error
}

// Unlocker opens the desk keys with the desk passphrase so approvals can be signed.
type Unlocker interface {
	UnlockDesk(ctx context.Context, passphrase string) error
	Unlocked() bool
}
