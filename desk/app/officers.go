package app

import (
	"errors"
	"fmt"
	"time"

	"enrolldesk/desk/officer"
)

// OfficerView is one account on the supervisor's officers screen (no key material).
type OfficerView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
	Created  string `json:"created"` // dd/mm/yyyy
}

// NewOfficer is the supervisor's form for a new account.
type NewOfficer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	PIN  string `json:"pin"`
}

// Officers is the bound service of the supervisor's officers screen.
type Officers struct {
	session  *Session
	officers *officer.Registry
}

// supervisor returns the logged-in supervisor or refuses.
func (o *Officers) supervisor() (Officer, error) {
	me, err := o.session.current()
	if err != nil {
		return Officer{}, err
	}
	if me.Role != RoleSupervisor {
		return Officer{}, coded(CodeForbidden, errors.New("supervisors only"), nil)
	}
	if o.officers == nil {
		return Officer{}, coded(CodeUnavailable, errors.New("officer accounts not wired"), nil)
	}
	return me, nil
}

// List returns every account.
func (o *Officers) List() Response {
	if _, err := o.supervisor(); err != nil {
		return fail("Officers.List", err)
	}
	list, err := o.officers.List(o.session.context())
	if err != nil {
		return fail("Officers.List", err)
	}
	out := make([]OfficerView, 0, len(list))
	for _, a := range list {
		out = append(out, OfficerView{ID: a.ID, Name: a.Name, Role: string(a.Role), Disabled: a.Disabled,
			Created: a.CreatedAt.In(time.Local).Format("02/01/2006")})
	}
	return ok(out)
}

// Create adds an officer or supervisor account with its PIN.
func (o *Officers) Create(n NewOfficer) Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.Create", err)
	}
	switch {
	case !officerIDPattern.MatchString(n.ID):
		return fail("Officers.Create", invalid("officerId", errors.New("officer id must be 2-32 letters, digits, '.', '_' or '-'")))
	case len([]rune(n.Name)) < 2 || len([]rune(n.Name)) > 80:
		return fail("Officers.Create", invalid("name", errors.New("name must be 2-80 characters")))
	case !pinPattern.MatchString(n.PIN):
		return fail("Officers.Create", invalid("pin", errors.New("PIN must be 6-12 digits")))
	case n.Role != RoleOfficer && n.Role != RoleSupervisor:
		return fail("Officers.Create", invalid("role", fmt.Errorf("unknown role %q", n.Role)))
	}
	_, err = o.officers.Create(o.session.context(), me.ID, officer.New{ID: n.ID, Name: n.Name, Role: officer.Role(n.Role), PIN: n.PIN})
	if errors.Is(err, officer.ErrExists) {
		return fail("Officers.Create", invalid("officerId", err))
	}
	if err != nil {
		return fail("Officers.Create", fmt.Errorf("create officer: %w", err))
	}
	return o.List()
}

// Unlock lifts a lockout after wrong PINs.
func (o *Officers) Unlock(id string) Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.Unlock", err)
	}
	if err := o.officers.Unlock(o.session.context(), me.ID, id); err != nil {
		return fail("Officers.Unlock", fmt.Errorf("unlock officer: %w", err))
	}
	return o.List()
}

// SetDisabled disables or re-enables an account (a supervisor cannot disable their own).
func (o *Officers) SetDisabled(id string, disabled bool) Response {
	me, err := o.supervisor()
	if err != nil {
		return fail("Officers.SetDisabled", err)
	}
	if id == me.ID && disabled {
		return fail("Officers.SetDisabled", coded(CodeConflict, errors.New("a supervisor cannot disable their own account"), nil))
	}
	if err := o.officers.SetDisabled(o.session.context(), me.ID, id, disabled); err != nil {
		return fail("Officers.SetDisabled", fmt.Errorf("disable officer: %w", err))
	}
	return o.List()
}
