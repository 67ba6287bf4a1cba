// Command sambatd is the SMS gateway and USSD-style complaint intake of
// SAMBAT, Kota Malang's public complaint service. With no arguments it
// serves on the embedded default: SQLite file sambat.db, 127.0.0.1:8080,
// the simulator channel on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: sambatd [command] [flags]

commands:
  serve                     run the daemon (the default)
  check-config              check a config file, naming each mistake
  tickets list|show|set-status
  outbox list|retry|cancel
  sync retry                queue again what the central store refused
  send --to PHONE --text TEXT
  modem info --port PORT
  export --from DATE --to DATE
  backup --to FILE

Every command takes --config FILE (default: the embedded configuration).
`

// errUsage is a command-line mistake: usage is printed, exit code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sambatd:", err)
		os.Exit(1)
	}
}

// run dispatches a command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stderr)
	case "check-config":
		return runCheckConfig(args, stdout)
	case "tickets":
		return runTickets(ctx, args, stdout)
	case "outbox":
		return runOutbox(ctx, args, stdout)
	case "sync":
		return runSync(ctx, args, stdout)
	case "send":
		return runSend(ctx, args, stdout)
	case "modem":
		return runModem(ctx, args, stdout)
	case "export":
		return runExport(ctx, args, stdout)
	case "backup":
		return runBackup(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
}

// flags makes a flag set with the common --config flag.
func flags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", "", "config file (default: the embedded configuration)")
	return fs, path
}

// parse parses flags, turning a mistake into errUsage with the reason.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %v: %w", fs.Name(), err, errUsage)
	}
	return nil
}
