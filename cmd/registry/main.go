// Command registry is the HQ receiver of desk records (see sync/registry).
//
//	registry serve -data DIR [-listen 127.0.0.1:8443] [-hosts 127.0.0.1,localhost] [-postgres DSN] [-desk-cert-days 30]
//	registry token -data DIR DESK_ID     prints the desk's provisioning token and the CA fingerprint
//	registry publish -data DIR -kind KIND [-desk DESK_ID] FILE   signs FILE as the next down-sync bundle
//	registry import-bundle -data DIR [-url URL] BUNDLE...   imports desk USB bundles, writes receipts (import.go)
//	registry desk revoke -data DIR -reason TEXT DESK_ID      revokes a desk: its batches and renewals are refused (desk.go)
//	registry desk show -data DIR DESK_ID                     registration and revocation status
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"enrolldesk/sync/registry"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: registry serve|token [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("registry "+args[0], flag.ContinueOnError)
	data := fs.String("data", "", "registry data directory (identity, SQLite store)")
	switch args[0] {
	case "serve":
		listen := fs.String("listen", "127.0.0.1:8443", "address to listen on")
		hosts := fs.String("hosts", "127.0.0.1,localhost", "names and addresses for the server certificate")
		pg := fs.String("postgres", "", "PostgreSQL connection string (default: SQLite in -data)")
		certDays := fs.Int("desk-cert-days", int(registry.DefaultDeskCertValidity/(24*time.Hour)), "lifetime of issued desk certificates, in days (desks renew when a third is left)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *data == "" {
			return fmt.Errorf("serve: -data is required")
		}
		if *certDays < 1 {
			return fmt.Errorf("serve: -desk-cert-days must be at least 1")
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		cfg := registry.Config{Dir: *data, Listen: *listen, Hosts: strings.Split(*hosts, ","), Log: log,
			DeskCertValidity: time.Duration(*certDays) * 24 * time.Hour}
		if *pg != "" {
			st, err := registry.OpenPostgres(ctx, *pg)
			if err != nil {
				return err
			}
			defer st.Close()
			cfg.Store = st
		}
		svc, err := registry.Start(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Printf("registry %s\nCA sha256 %s\n", svc.URL, svc.Identity.CAFingerprint())
		<-ctx.Done()
		return svc.Close()
	case "token":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *data == "" || fs.NArg() != 1 {
			return fmt.Errorf("usage: registry token -data DIR DESK_ID")
		}
		id, err := registry.LoadOrCreateIdentity(*data)
		if err != nil {
			return err
		}
		fmt.Printf("desk %s\ntoken %s\nCA sha256 %s\n", fs.Arg(0), id.ProvisioningToken(fs.Arg(0)), id.CAFingerprint())
		return nil
	case "publish":
		kind := fs.String("kind", "", "bundle kind: csca-masterlist, crl, officers, settings, gallery-delta")
		desk := fs.String("desk", "", "only for this desk (default: every desk)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *data == "" || *kind == "" || fs.NArg() != 1 {
			return fmt.Errorf("usage: registry publish -data DIR -kind KIND [-desk DESK_ID] FILE")
		}
		content, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		id, err := registry.LoadOrCreateIdentity(*data)
		if err != nil {
			return err
		}
		b := &registry.Bundles{Dir: filepath.Join(*data, "bundles"), Key: id.SigningKey}
		serial, err := b.Publish(*kind, *desk, content)
		if err != nil {
			return err
		}
		fmt.Printf("published %s serial %d\n", *kind, serial)
		return nil
	case "import-bundle":
		return runImportBundle(ctx, args[1:], os.Stdout)
	case "desk":
		return runDesk(ctx, args[1:], os.Stdout) // desk.go: revoke, show
	default:
		return fmt.Errorf("unknown command %q (serve, token, publish, import-bundle, desk)", args[0])
	}
}
