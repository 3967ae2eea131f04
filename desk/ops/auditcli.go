package ops

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/cli"
	"enrolldesk/desk/config"
	"enrolldesk/desk/deskcli"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/settings"
	hqsync "enrolldesk/sync"
)

// runAuditShip is `enrolldesk audit ship -data DIR`: one round of the audit sync with the
// registry the desk is registered with (registry.cbor in the data directory, mutual TLS with the
// desk key, passphrase in $ENROLLDESK_PASSPHRASE). It fails, saying so, when the desk's audit log
// no longer holds the entry the registry's head names (a truncated or rewritten tail), which a
// local `audit verify` cannot see.
func runAuditShip(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("audit ship")
	data := fs.String("data", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := config.DataDir(*data)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(dir, config.RegistryFile))
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("audit ship: the desk is not registered with a registry (no " + config.RegistryFile + "; see `enrolldesk register`)")
	}
	if err != nil {
		return fmt.Errorf("audit ship: %w", err)
	}
	pass, err := secretValue(deskcli.EnvPassphrase, "desk passphrase")
	if err != nil {
		return err
	}
	db, log, _, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := provision.Unlock(ctx, db, pass)
	if err != nil {
		return err
	}
	enr, err := hqsync.ParseEnrollment(raw, keys.SigningKey.Public().(ed25519.PublicKey))
	if err != nil {
		return fmt.Errorf("audit ship: %w", err)
	}
	c, err := enr.Client(keys.SigningKey)
	if err != nil {
		return fmt.Errorf("audit ship: %w", err)
	}
	defer c.HTTP.CloseIdleConnections()
	s := &audit.Shipper{Log: log, Remote: &audit.HTTPRemote{BaseURL: c.BaseURL, HTTP: c.HTTP, DeskID: c.DeskID, RegistryKey: c.RegistryKey}}
	if st, err := settings.New(db, log, nil).Load(ctx); err == nil {
		s.Timeout = st.Timeouts.Network.D()
	}
	res, err := s.Ship(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "registry holds this desk's audit log up to entry %d of %d (%d sent now)\n", res.Registry, res.Local, res.Sent)
	return nil
}
