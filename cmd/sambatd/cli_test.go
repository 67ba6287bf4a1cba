package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// cliRun runs one command line in-process.
func cliRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, &out)
	return out.String(), err
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", "")
	db, err := store.Open(filepath.Join(dir, "sambat.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := openCLI(cfg)
	res, err := c.engine.Handle(context.Background(), intake.Message{Channel: "sim", ExternalID: "1",
		From: "+6281234567890", Text: "SAMBAT pohon tumbang di Jl Ijen"})
	c.db.Close()
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	number := res.Ticket
	t.Run("TicketsList", func(t *testing.T) {
		out, err := cliRun(t, "tickets", "list", "--config", cfg)
		if err != nil || !strings.Contains(out, number) || !strings.Contains(out, "POHON") {
			t.Fatalf("got %q, %v", out, err)
		}
	})
	t.Run("SetStatus", func(t *testing.T) {
		out, err := cliRun(t, "tickets", "set-status", "--config", cfg, "--status", "diproses", "--note", "tim meluncur", number)
		if err != nil || !strings.Contains(out, "tim meluncur") {
			t.Fatalf("got %q, %v", out, err)
		}
		out, _ = cliRun(t, "outbox", "list", "--config", cfg)
		if !strings.Contains(out, "notify") || strings.Contains(out, "+6281234567890") {
			t.Fatalf("outbox should hold the masked notification: %q", out)
		}
		if _, err := cliRun(t, "tickets", "set-status", "--config", cfg, "--status", "beres", number); err == nil {
			t.Fatalf("an unknown status must be refused")
		}
	})
	t.Run("SendRetryCancel", func(t *testing.T) {
		out, err := cliRun(t, "send", "--config", cfg, "--to", "085755512345", "--text", "Uji coba")
		id := regexp.MustCompile(`row (\d+)`).FindStringSubmatch(out)
		if err != nil || id == nil {
			t.Fatalf("send: got %q, %v", out, err)
		}
		if out, err := cliRun(t, "outbox", "cancel", "--config", cfg, id[1]); err != nil {
			t.Fatalf("cancel: %q %v", out, err)
		}
		if out, _ := cliRun(t, "outbox", "list", "--config", cfg, "--status", "cancelled"); !strings.Contains(out, "admin") {
			t.Fatalf("cancelled row not listed: %q", out)
		}
		if out, err := cliRun(t, "outbox", "retry", "--config", cfg, id[1]); err != nil {
			t.Fatalf("retry: %q %v", out, err)
		}
		if _, err := cliRun(t, "send", "--config", cfg, "--to", "TELKOMSEL", "--text", "x"); err == nil {
			t.Fatalf("send to a non-mobile number must fail")
		}
	})
	t.Run("Export", func(t *testing.T) {
		out, err := cliRun(t, "export", "--config", cfg, "--from", "2000-01-01", "--to", "2100-01-01")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[1], number+",") || !strings.Contains(lines[1], ",POHON,DLH,diproses,sim,") {
			t.Fatalf("export: got %q, %v", out, err)
		}
		out, _ = cliRun(t, "export", "--config", cfg, "--from", "2000-01-01", "--to", "2100-01-01", "--summary")
		if !strings.Contains(out, "\nDLH,1,1,0,0,0,1,0,0,0,0,") {
			t.Fatalf("summary: got %q", out)
		}
		if _, err := cliRun(t, "export", "--config", cfg, "--from", "kemarin"); !errors.Is(err, errUsage) {
			t.Fatalf("bad date: got %v, want a usage error", err)
		}
	})
	t.Run("Backup", func(t *testing.T) {
		to := filepath.Join(dir, "copy.db")
		if out, err := cliRun(t, "backup", "--config", cfg, "--to", to); err != nil {
			t.Fatalf("backup: %q %v", out, err)
		}
		copyDB, err := store.Open(to, nil) // the store's own tests run integrity_check under load
		if err != nil {
			t.Fatal(err)
		}
		defer copyDB.Close()
		e, _ := intake.NewEngine(copyDB, intake.Settings{}, nil, nil)
		if tk, err := e.TicketDetail(context.Background(), number); err != nil || len(tk.Events) != 2 {
			t.Fatalf("copy: got %+v, %v", tk, err)
		}
	})
	t.Run("CheckConfig", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte("http:\n  listen: 0.0.0.0:8080\nintake:\n  max_per_dya: 3\n"), 0o600)
		out, err := cliRun(t, "check-config", "--config", bad)
		if err == nil || !strings.Contains(out, "intake.max_per_dya") {
			t.Fatalf("got %q, %v", out, err)
		}
		os.WriteFile(bad, []byte("http:\n  listen: 0.0.0.0:8080\n"), 0o600)
		if out, err := cliRun(t, "check-config", "--config", bad); err == nil || !strings.Contains(out, "http.admin_token") {
			t.Fatalf("a public listener without a token: got %q, %v", out, err)
		}
		if out, err := cliRun(t, "check-config", "--config", cfg); err != nil || !strings.Contains(out, "ok") {
			t.Fatalf("good config: got %q, %v", out, err)
		}
	})
	t.Run("SyncRetry", func(t *testing.T) {
		db, err := store.Open(filepath.Join(dir, "sambat.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		db.Update(ctx, func(tx intake.Tx) error {
			_, err := tx.EnqueueJob(&intake.Job{Kind: "create", Ticket: number})
			return err
		})
		jobs, _ := db.ClaimJobs(ctx, time.Now().Add(time.Minute), 10)
		if len(jobs) != 1 {
			t.Fatalf("claimed %d jobs, want 1", len(jobs))
		}
		db.FinishJob(ctx, jobs[0].ID, "400 service_code unknown", time.Time{}) // refused for good
		db.Close()
		out, err := cliRun(t, "sync", "retry", "--config", cfg)
		if err != nil || !strings.HasPrefix(out, "1 refused job(s)") {
			t.Fatalf("got %q, %v", out, err)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		if _, err := cliRun(t, "frobnicate"); !errors.Is(err, errUsage) {
			t.Fatalf("got %v, want errUsage", err)
		}
	})
}
