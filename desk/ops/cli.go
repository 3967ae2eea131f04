package ops

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/cli"
	"enrolldesk/desk/deskcli"
	"enrolldesk/desk/freeze"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/review"
	"enrolldesk/desk/store"
	"enrolldesk/reader/pa"
	"enrolldesk/sync/outbox"
)

// Version and BuildDate identify the build for the freeze rules; set them at link time:
// -ldflags "-X enrolldesk/desk/ops.Version=1.2.0 -X enrolldesk/desk/ops.BuildDate=2026-03-01".
var (
	Version   = "0.1.0"
	BuildDate = ""
)

// CurrentBuild returns Version and BuildDate as a freeze.Build (a zero Date when unset).
func CurrentBuild() freeze.Build {
	b := freeze.Build{Version: Version}
	if t, err := time.Parse(time.DateOnly, BuildDate); err == nil {
		b.Date = t
	}
	return b
}

// Commands returns the desk-operations commands.
func Commands() []cli.Command {
	return []cli.Command{
		{Path: "settings show", Summary: "print the desk settings (JSON) and the newest signed document applied", Run: runSettingsShow},
		{Path: "settings set", Summary: "change local settings: KEY=JSON ... (supervisor PIN in $" + deskcli.EnvPIN + ")", Run: runSettingsSet},
		{Path: "settings apply", Summary: "apply a signed desk-settings file from the registry", Run: runSettingsApply},
		{Path: "settings pin-registry", Summary: "pin the registry's Ed25519 public key (hex), once, at provisioning", Run: runSettingsPin},
		{Path: "freeze status", Summary: "say whether new enrollments are stopped, why and what unfreezes the desk", Run: runFreezeStatus},
		{Path: "review list", Summary: "list review items (pending by default)", Run: runReviewList},
		{Path: "review counts", Summary: "per-officer counts per office day", Run: runReviewCounts},
		{Path: "review approve", Summary: "release pending items (supervisor PIN in $" + deskcli.EnvPIN + ", passphrase in $" + deskcli.EnvPassphrase + ")", Run: runReviewApprove},
		{Path: "review reject", Summary: "reject a pending item with a reason code", Run: runReviewReject},
		{Path: "export usb", Summary: "write every unacknowledged record to a drive as signed, encrypted bundles", Run: runExport},
		{Path: "export receipt", Summary: "apply a receipt file the registry wrote for an imported bundle", Run: runReceipt},
		{Path: "audit ship", Summary: "send the audit log to the registry and check the desk still holds what the registry has (passphrase in $" + deskcli.EnvPassphrase + ")", Run: runAuditShip},
	}
}

func open(ctx context.Context, data string) (*store.DB, *audit.Log, *officer.Registry, error) {
	db, err := deskcli.OpenStore(ctx, data)
	if err != nil {
		return nil, nil, nil, err
	}
	log := audit.New(db, nil)
	return db, log, officer.NewRegistry(db, log, officer.DefaultPolicy, nil), nil
}

func newOps(db *store.DB, log *audit.Log, reg *officer.Registry, csca string) (*Ops, error) {
	return New(Config{DB: db, Audit: log, Officers: reg, Build: CurrentBuild(),
		TrustStore: func(context.Context) (*pa.TrustStore, error) {
			if csca == "" {
				return nil, errors.New("no -csca directory given")
			}
			return pa.LoadTrustStore(csca)
		}})
}

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

// supervisor authenticates a supervisor with the PIN from the environment or stdin.
func supervisor(ctx context.Context, reg *officer.Registry, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w: -supervisor is required", cli.ErrUsage)
	}
	pin, err := secretValue(deskcli.EnvPIN, "supervisor PIN")
	if err != nil {
		return "", err
	}
	o, err := reg.Authenticate(ctx, id, pin)
	if err != nil {
		return "", err
	}
	if o.Role != officer.RoleSupervisor {
		return "", review.ErrNotSupervisor
	}
	return pin, nil
}

func secretValue(env, what string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	var line string
	if _, err := fmt.Fscanln(os.Stdin, &line); err != nil || line == "" {
		return "", fmt.Errorf("%w: give the %s in $%s or on standard input", cli.ErrUsage, what, env)
	}
	return line, nil
}

func runSettingsShow(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("settings show")
	data := fs.String("data", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, log, reg, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := newOps(db, log, reg, "")
	if err != nil {
		return err
	}
	v, err := o.SettingsView(ctx)
	if err != nil {
		return err
	}
	return printJSON(env.Stdout, v)
}

func runSettingsSet(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("settings set")
	data := fs.String("data", "", "data directory")
	sup := fs.String("supervisor", "", "supervisor id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	values := map[string]json.RawMessage{}
	for _, a := range fs.Args() {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !json.Valid([]byte(v)) {
			return fmt.Errorf("%w: %q: want KEY=JSON, e.g. timeouts.card='\"30s\"'", cli.ErrUsage, a)
		}
		values[k] = json.RawMessage(v)
	}
	if len(values) == 0 {
		return fmt.Errorf("%w: no KEY=JSON given", cli.ErrUsage)
	}
	db, log, reg, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := supervisor(ctx, reg, *sup); err != nil {
		return err
	}
	o, err := newOps(db, log, reg, "")
	if err != nil {
		return err
	}
	changes, err := o.SetSettings(ctx, *sup, values)
	if err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintf(env.Stdout, "%s: %s -> %s\n", c.Key, c.Old, c.New)
	}
	return nil
}

func runSettingsApply(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("settings apply")
	data := fs.String("data", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: give the signed settings file", cli.ErrUsage)
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	db, log, reg, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := newOps(db, log, reg, "")
	if err != nil {
		return err
	}
	doc, changes, err := o.ApplySignedSettings(ctx, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "applied signed settings serial %d (%d keys changed)\n", doc.Serial, len(changes))
	return nil
}

func runSettingsPin(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("settings pin-registry")
	data := fs.String("data", "", "data directory")
	key := fs.String("key", "", "registry Ed25519 public key, hex")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, err := hex.DecodeString(*key)
	if err != nil || len(k) != 32 {
		return fmt.Errorf("%w: -key must be 64 hex digits", cli.ErrUsage)
	}
	db, log, reg, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := newOps(db, log, reg, "")
	if err != nil {
		return err
	}
	if err := o.Settings.PinRegistryKey(ctx, "system", k); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "registry key pinned")
	return nil
}

func runFreezeStatus(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("freeze status")
	data := fs.String("data", "", "data directory")
	csca := fs.String("csca", "", "CSCA trust store directory (certificates and CRLs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, log, reg, err := open(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := newOps(db, log, reg, *csca)
	if err != nil {
		return err
	}
	s, err := o.FreezeState(ctx)
	if err != nil {
		return err
	}
	if !s.Frozen {
		fmt.Fprintf(env.Stdout, "open: %d awaiting review, %d awaiting sync\n", s.AwaitingReview, s.AwaitingSync)
		return nil
	}
	fmt.Fprintln(env.Stdout, "FROZEN: new enrollments are stopped")
	for _, r := range s.Reasons {
		fmt.Fprintf(env.Stdout, "- [%s] %s (limit %s)\n  to unfreeze: %s\n", r.Code, r.What, r.Limit, r.Unfreeze)
	}
	return nil
}

func runReviewList(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("review list")
	data := fs.String("data", "", "data directory")
	state := fs.String("state", review.StatePending, "pending, released, rejected or '' for all")
	day := fs.String("day", "", "office day YYYY-MM-DD")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := deskcli.OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	items, err := review.List(ctx, db, review.Filter{State: *state, Day: *day})
	if err != nil {
		return err
	}
	for _, it := range items {
		fmt.Fprintf(env.Stdout, "%s  %-9s %-12s %s exceptions=%d flags=%s seq=%d %s\n", it.ItemID, it.State, it.OfficerID,
			it.SubmittedAt.In(review.OfficeZone).Format("2006-01-02 15:04"), it.Exceptions, strings.Join(it.Flags, ","), it.Seq, it.ReasonCode)
	}
	return nil
}

func runReviewCounts(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("review counts")
	data := fs.String("data", "", "data directory")
	today := time.Now().In(review.OfficeZone).Format(time.DateOnly)
	from := fs.String("from", today, "first office day")
	to := fs.String("to", today, "last office day")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := deskcli.OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := review.Counts(ctx, db, *from, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%-10s %-14s %9s %7s %8s %8s %10s %7s\n", "day", "officer", "submitted", "pending", "released", "rejected", "exceptions", "flagged")
	for _, c := range cs {
		fmt.Fprintf(env.Stdout, "%-10s %-14s %9d %7d %8d %8d %10d %7d\n", c.Day, c.OfficerID, c.Submitted, c.Pending, c.Released, c.Rejected, c.Exceptions, c.Flagged)
	}
	return nil
}

// unlocked opens the store, unlocks the desk keys with the passphrase and the outbox with the
// registry's age recipient, and returns an unlocked Ops.
func unlocked(ctx context.Context, data, registryAge string) (*Ops, *store.DB, error) {
	rcp, err := age.ParseX25519Recipient(registryAge)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: -registry-age: %v", cli.ErrUsage, err)
	}
	pass, err := secretValue(deskcli.EnvPassphrase, "desk passphrase")
	if err != nil {
		return nil, nil, err
	}
	db, log, reg, err := open(ctx, data)
	if err != nil {
		return nil, nil, err
	}
	keys, err := provision.Unlock(ctx, db, pass)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	out, err := outbox.New(db, outbox.Config{DeskID: keys.ID, DeskKey: keys.SigningKey, DataKey: keys.DataKey, Registry: rcp})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	o, err := newOps(db, log, reg, "")
	if err == nil {
		err = o.Unlock(ctx, keys, out, rcp)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return o, db, nil
}

func runReviewApprove(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("review approve")
	data := fs.String("data", "", "data directory")
	sup := fs.String("supervisor", "", "supervisor id")
	rcp := fs.String("registry-age", "", "the registry's age X25519 recipient (age1...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: give the item ids to approve", cli.ErrUsage)
	}
	pin, err := secretValue(deskcli.EnvPIN, "supervisor PIN")
	if err != nil {
		return err
	}
	o, db, err := unlocked(ctx, *data, *rcp)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := o.ReviewApprove(ctx, *sup, pin, fs.Args())
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range res {
		if r.Err != nil {
			failed++
			fmt.Fprintf(env.Stdout, "%s: NOT released: %v\n", r.ItemID, r.Err)
			continue
		}
		fmt.Fprintf(env.Stdout, "%s: released as record %s, sequence %d\n", r.ItemID, r.RecordID, r.Seq)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d items not released", failed, len(res))
	}
	return nil
}

func runReviewReject(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("review reject")
	data := fs.String("data", "", "data directory")
	sup := fs.String("supervisor", "", "supervisor id")
	item := fs.String("item", "", "item id")
	reason := fs.String("reason", "", "reason code: "+strings.Join(review.ReasonCodes, ", "))
	note := fs.String("note", "", "free-text note (required for 'other')")
	rcp := fs.String("registry-age", "", "the registry's age X25519 recipient (age1...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pin, err := secretValue(deskcli.EnvPIN, "supervisor PIN")
	if err != nil {
		return err
	}
	o, db, err := unlocked(ctx, *data, *rcp)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := o.ReviewReject(ctx, *sup, pin, *item, *reason, *note); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s rejected (%s)\n", *item, *reason)
	return nil
}

func runExport(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("export usb")
	data := fs.String("data", "", "data directory")
	dir := fs.String("dir", "", "mounted drive directory")
	actor := fs.String("officer", "", "officer id doing the export")
	rcp := fs.String("registry-age", "", "the registry's age X25519 recipient (age1...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *actor == "" {
		return fmt.Errorf("%w: -dir and -officer are required", cli.ErrUsage)
	}
	o, db, err := unlocked(ctx, *data, *rcp)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := o.Export(ctx, *actor, *dir)
	if err != nil {
		return err
	}
	for _, f := range res.Files {
		fmt.Fprintln(env.Stdout, f)
	}
	fmt.Fprintf(env.Stdout, "%d records (sequence %d to %d) in %d bundles\n", res.Records, res.From, res.To, len(res.Files))
	return nil
}

func runReceipt(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("export receipt")
	data := fs.String("data", "", "data directory")
	file := fs.String("file", "", "receipt file")
	actor := fs.String("officer", "", "officer id applying it")
	rcp := fs.String("registry-age", "", "the registry's age X25519 recipient (age1...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *actor == "" {
		return fmt.Errorf("%w: -file and -officer are required", cli.ErrUsage)
	}
	o, db, err := unlocked(ctx, *data, *rcp)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := o.ApplyReceipt(ctx, *actor, *file)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "registry holds this desk's records up to sequence %d (%d new in that import)\n", info.Seq, info.Stored)
	return nil
}
