package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kotamalang/sambatd/config"
	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

func runCheckConfig(args []string, stdout io.Writer) error {
	fs, path := flags("check-config")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err == nil {
		err = cfg.Validate()
	}
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, line := range ps.Lines() {
			fmt.Fprintln(stdout, line)
		}
		return fmt.Errorf("%d problem(s) in the config", len(ps))
	}
	if err != nil {
		return err
	}
	if _, err := cfg.Settings(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "config ok")
	return nil
}

// cli is a command's view of the database a daemon may be running on.
type cli struct {
	cfg    *config.Config
	db     *store.DB
	engine *intake.Engine
}

// openCLI opens the config's database for a command. It does not requeue
// rows in flight: a running daemon may be sending them.
func openCLI(path string) (*cli, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	settings, err := cfg.Settings()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(cfg.Store.Path, intake.SystemClock{})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	e, err := intake.NewEngine(db, settings, intake.SystemClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		db.Close()
		return nil, err
	}
	return &cli{cfg: cfg, db: db, engine: e}, nil
}

func runTickets(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("tickets: want list, show or set-status: %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs, path := flags("tickets " + sub)
	status := fs.String("status", "", "filter (list) or new status (set-status)")
	category := fs.String("category", "", "filter by category code")
	opd := fs.String("opd", "", "filter by department code")
	limit := fs.Int("limit", 50, "how many")
	note := fs.String("note", "", "note for set-status, told to the resident")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := openCLI(*path)
	if err != nil {
		return err
	}
	defer c.db.Close()
	switch sub {
	case "list":
		ts, err := c.engine.Tickets(ctx, intake.TicketFilter{Status: intake.Status(*status),
			Category: strings.ToUpper(*category), OPD: strings.ToUpper(*opd), Limit: *limit})
		if err != nil {
			return err
		}
		printTickets(stdout, ts)
		return nil
	case "show", "set-status":
		if fs.NArg() != 1 {
			return fmt.Errorf("tickets %s: want one ticket number: %w", sub, errUsage)
		}
		if sub == "set-status" {
			st := intake.Status(strings.ToLower(*status))
			if !st.Valid() {
				return fmt.Errorf("tickets set-status: --status: unknown status %q", *status)
			}
			if err := c.engine.SetStatus(ctx, fs.Arg(0), st, "cli", *note); err != nil {
				return err
			}
		}
		t, err := c.engine.TicketDetail(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		printTicket(stdout, t)
		return nil
	}
	return fmt.Errorf("tickets: unknown subcommand %q: %w", sub, errUsage)
}

func printTickets(w io.Writer, ts []intake.Ticket) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTATUS\tCATEGORY\tOPD\tCREATED\tLOCATION")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Status, t.Category, t.OPD,
			t.CreatedAt.Local().Format("2006-01-02 15:04"), t.Location)
	}
	tw.Flush()
}

func printTicket(w io.Writer, t *intake.Ticket) {
	fmt.Fprintf(w, "Ticket %s: %s\nCategory: %s  OPD: %s\nLocation: %s\nDescription: %s\n",
		t.Number, t.Status, t.Category, t.OPD, t.Location, t.Description)
	fmt.Fprintf(w, "Complainant: %s  Submitted by: %s  Confidential: %v  Channel: %s\n",
		t.Complainant, t.SubmittedBy, t.Confidential, t.Channel)
	for _, e := range t.Events {
		fmt.Fprintf(w, "  %s  %-10s %-8s %s\n", e.Time.Local().Format("2006-01-02 15:04"), e.Status, e.Source, e.Note)
	}
}

func runSend(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := flags("send")
	to := fs.String("to", "", "phone number")
	text := fs.String("text", "", "message text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" || strings.TrimSpace(*text) == "" {
		return fmt.Errorf("send: --to and --text are required: %w", errUsage)
	}
	c, err := openCLI(*path)
	if err != nil {
		return err
	}
	defer c.db.Close()
	o, err := c.engine.Queue(ctx, *to, *text, "admin")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "queued as outbox row %d\n", o.ID)
	return nil
}

func runOutbox(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("outbox: want list, retry or cancel: %w", errUsage)
	}
	sub, args := args[0], args[1:]
	fs, path := flags("outbox " + sub)
	status := fs.String("status", "", "list: only rows with this status")
	limit := fs.Int("limit", 50, "list: how many")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := openCLI(*path)
	if err != nil {
		return err
	}
	defer c.db.Close()
	if sub == "list" {
		rows, err := c.db.Outbox(ctx, store.OutboxFilter{Status: *status, Limit: *limit})
		if err != nil {
			return err
		}
		printOutbox(stdout, rows)
		return nil
	}
	if sub != "retry" && sub != "cancel" {
		return fmt.Errorf("outbox: unknown subcommand %q: %w", sub, errUsage)
	}
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return fmt.Errorf("outbox %s: %q is not a row id: %w", sub, a, errUsage)
		}
		if sub == "retry" {
			err = c.db.RetryOutbox(ctx, id)
		} else {
			err = c.db.CancelOutbox(ctx, id)
		}
		if err != nil {
			return fmt.Errorf("outbox %s %d: %w", sub, id, err)
		}
		fmt.Fprintf(stdout, "row %d: %s done\n", id, sub)
	}
	return nil
}

func printOutbox(w io.Writer, rows []intake.Outgoing) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCHANNEL\tTO\tKIND\tTRIES\tCREATED\tERROR")
	for _, o := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", o.ID, o.Status, o.Channel, intake.MaskPhone(o.Phone),
			o.Kind, o.Attempts, o.CreatedAt.Local().Format(time.DateTime), o.LastError)
	}
	tw.Flush()
}

func runBackup(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := flags("backup")
	to := fs.String("to", "", "file to write the copy to (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("backup: --to is required: %w", errUsage)
	}
	c, err := openCLI(*path)
	if err != nil {
		return err
	}
	defer c.db.Close()
	if err := c.db.Backup(ctx, *to); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", *to)
	return nil
}

// runSync is `sambatd sync retry`: after fixing what made the central store
// refuse tickets (a service_code, the api key), queue them again.
func runSync(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "retry" {
		return fmt.Errorf("sync: want retry: %w", errUsage)
	}
	fs, path := flags("sync retry")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	c, err := openCLI(*path)
	if err != nil {
		return err
	}
	defer c.db.Close()
	n, err := c.db.RetryFailedJobs(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d refused job(s) queued again; a running daemon sends them\n", n)
	return nil
}
