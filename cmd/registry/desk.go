package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"enrolldesk/sync/registry"
)

// runDesk is `registry desk revoke|show`, the operator's desk administration on the registry's
// store (SQLite in -data, or -postgres DSN). It works while `registry serve` runs: the service
// reads a desk's revocation on every request.
//
//	registry desk revoke -data DIR [-postgres DSN] -reason TEXT DESK_ID
//	registry desk show -data DIR [-postgres DSN] DESK_ID
func runDesk(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: registry desk revoke|show [flags] DESK_ID")
	}
	fs := flag.NewFlagSet("registry desk "+args[0], flag.ContinueOnError)
	data := fs.String("data", "", "registry data directory (SQLite store)")
	pg := fs.String("postgres", "", "PostgreSQL connection string (default: SQLite in -data)")
	reason := fs.String("reason", "", "why the desk is revoked (shown to the desk with every refusal)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || (*data == "" && *pg == "") {
		return fmt.Errorf("usage: registry desk %s -data DIR [-postgres DSN] [-reason TEXT] DESK_ID", args[0])
	}
	id := pos[0]
	var st registry.Store
	if *pg != "" {
		st, err = registry.OpenPostgres(ctx, *pg)
	} else {
		st, err = registry.OpenSQLite(ctx, filepath.Join(*data, "registry.sqlite"))
	}
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "revoke":
		if err := registry.RevokeDesk(ctx, st, id, *reason, time.Now()); err != nil {
			return err
		}
		fallthrough
	case "show":
		d, err := st.Desk(ctx, id)
		if err != nil {
			return fmt.Errorf("desk %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "desk %s\nregistered %s\n", d.ID, d.Registered.UTC().Format(time.RFC3339))
		if d.Revoked.IsZero() {
			fmt.Fprintln(stdout, "status active")
		} else {
			fmt.Fprintf(stdout, "status revoked %s\nreason %s\n", d.Revoked.UTC().Format(time.RFC3339), d.RevokeReason)
		}
		return nil
	default:
		return fmt.Errorf("unknown desk command %q (revoke, show)", args[0])
	}
}

// parseInterleaved parses flags that may come before or after the positional arguments
// (`desk revoke desk-01 -reason stolen`), returning the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
