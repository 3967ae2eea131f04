// Package deskcli holds the desk's own commands: provision, officer management and audit checks.
package deskcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/cli"
	"enrolldesk/desk/config"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	hqsync "enrolldesk/sync"
)

// Environment variables that carry secrets, so they never show in a process list.
const (
	EnvPassphrase = "ENROLLDESK_PASSPHRASE"
	EnvPIN        = "ENROLLDESK_PIN"
)

// Commands returns the desk's commands.
func Commands() []cli.Command {
	return []cli.Command{
		{Path: "provision", Summary: "give a new desk its identity, keys and first supervisor", Run: runProvision},
		{Path: "audit verify", Summary: "check the audit log's hash chain", Run: runAuditVerify},
		{Path: "officer add", Summary: "create an officer account", Run: runOfficerAdd},
		{Path: "officer list", Summary: "list officer accounts", Run: runOfficerList},
		{Path: "register", Summary: "enroll this desk with the registry (mutual-TLS certificate, sealing key)", Run: runRegister},
	}
}

// OpenStore opens the store in the data directory given by --data / ENROLLDESK_DATA / XDG.
func OpenStore(ctx context.Context, dataFlag string) (*store.DB, error) {
	dir, err := config.DataDir(dataFlag)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, filepath.Join(dir, store.FileName))
}

// secret reads a secret from the environment variable, else from one line of stdin.
func secret(env, what string, stdin io.Reader) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		return "", fmt.Errorf("%w: give the %s in $%s or on standard input", cli.ErrUsage, what, env)
	}
	return line, nil
}

func runProvision(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("provision")
	data := fs.String("data", "", "data directory (default $ENROLLDESK_DATA or $XDG_DATA_HOME/enrolldesk)")
	id := fs.String("officer-id", "", "first supervisor's officer id")
	name := fs.String("officer-name", "", "first supervisor's full name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *name == "" {
		return fmt.Errorf("%w: -officer-id and -officer-name are required", cli.ErrUsage)
	}
	pass, err := secret(EnvPassphrase, "desk passphrase", os.Stdin)
	if err != nil {
		return err
	}
	pin, err := secret(EnvPIN, "supervisor PIN", os.Stdin)
	if err != nil {
		return err
	}
	db, err := OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	log := audit.New(db, nil)
	reg := officer.NewRegistry(db, log, officer.DefaultPolicy, nil)
	d, err := provision.Provision(ctx, db, reg, log, pass, officer.New{ID: *id, Name: *name, Role: officer.RoleSupervisor, PIN: pin}, provision.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "desk %s provisioned in %s; supervisor %s can log in\n", d.ID, filepath.Dir(db.Path), *id)
	return nil
}

func runAuditVerify(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("audit verify")
	data := fs.String("data", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	head, err := audit.New(db, nil).Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "audit log intact: %d entries, head %x\n", head.Seq, head.Hash)
	return nil
}

func runOfficerAdd(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("officer add")
	data := fs.String("data", "", "data directory")
	supervisor := fs.String("supervisor", "", "supervisor id authorising the new account (PIN in $"+EnvPIN+" or stdin)")
	id := fs.String("id", "", "new officer id")
	name := fs.String("name", "", "new officer's full name")
	role := fs.String("role", string(officer.RoleOfficer), "officer or supervisor")
	newPIN := fs.String("pin-env", "ENROLLDESK_NEW_PIN", "environment variable holding the new officer's PIN")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *supervisor == "" || *id == "" || *name == "" {
		return fmt.Errorf("%w: -supervisor, -id and -name are required", cli.ErrUsage)
	}
	pin := os.Getenv(*newPIN)
	if pin == "" {
		return fmt.Errorf("%w: set $%s to the new officer's PIN", cli.ErrUsage, *newPIN)
	}
	supPIN, err := secret(EnvPIN, "supervisor PIN", os.Stdin)
	if err != nil {
		return err
	}
	db, err := OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	log := audit.New(db, nil)
	reg := officer.NewRegistry(db, log, officer.DefaultPolicy, nil)
	sup, err := reg.Authenticate(ctx, *supervisor, supPIN)
	if err != nil {
		return err
	}
	if sup.Role != officer.RoleSupervisor {
		return errors.New("only a supervisor may create accounts")
	}
	o, err := reg.Create(ctx, sup.ID, officer.New{ID: *id, Name: *name, Role: officer.Role(*role), PIN: pin})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created %s (%s)\n", o.ID, o.Role)
	return nil
}

func runOfficerList(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("officer list")
	data := fs.String("data", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := officer.NewRegistry(db, audit.New(db, nil), officer.DefaultPolicy, nil).List(ctx)
	if err != nil {
		return err
	}
	for _, o := range list {
		state := "active"
		if o.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(env.Stdout, "%-20s %-10s %-8s %s\n", o.ID, o.Role, state, o.Name)
	}
	return nil
}

func runRegister(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("register")
	data := fs.String("data", "", "data directory")
	url := fs.String("registry", "", "registry URL, e.g. https://registry.example:8443")
	ca := fs.String("ca", "", "SHA-256 fingerprint (hex) of the registry's CA, read from the registry operator")
	token := fs.String("token", "", "one-time provisioning token the registry issued for this desk id")
	timeout := fs.Duration("timeout", 0, "how long to wait for the registry (default: the desk's timeouts.network setting)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *ca == "" || *token == "" {
		return fmt.Errorf("%w: -registry, -ca and -token are required", cli.ErrUsage)
	}
	pass, err := secret(EnvPassphrase, "desk passphrase", os.Stdin)
	if err != nil {
		return err
	}
	dir, err := config.DataDir(*data)
	if err != nil {
		return err
	}
	db, err := OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := provision.Unlock(ctx, db, pass)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, config.RegistryFile)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("this desk is already registered (%s exists)", path)
	}
	wait := *timeout
	if wait <= 0 {
		st, err := settings.New(db, audit.New(db, nil), nil).Load(ctx)
		if err != nil {
			return fmt.Errorf("register: %w", err)
		}
		wait = st.Timeouts.Network.D()
	}
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	enr, err := hqsync.Provision(pctx, *url, *ca, *token, keys.ID, keys.SigningKey)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("register with the registry: no answer within %s (timeouts.network, or -timeout): %w", wait, err)
	}
	if err != nil {
		return fmt.Errorf("register with the registry: %w", err)
	}
	// Written atomically and durably (fsync of the file and of the directory): a half-written
	// file would stop the uploader at every start, a lost one would need a new token.
	if err := hqsync.SaveEnrollment(path, enr); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if _, err := audit.New(db, nil).Append(ctx, audit.Entry{Actor: "system", Action: "desk.register", Subject: keys.ID}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "desk %s registered with %s; records sync once the desk is unlocked\n", keys.ID, *url)
	return nil
}
