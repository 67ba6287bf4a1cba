package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unmasked finds a phone number that reached a log in the clear.
var unmasked = regexp.MustCompile(`(?:\+?62|0)8\d{7,}`)

// unmaskedPhone returns the first phone number found in the clear in any
// field of the JSON log lines other than "time", whose nanoseconds (e.g.
// ".085847862Z") look like a number; a line that is not JSON is searched
// whole.
func unmaskedPhone(logs string) string {
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			if m := unmasked.FindString(line); m != "" {
				return m
			}
			continue
		}
		for k, v := range rec {
			if k == "time" {
				continue
			}
			if m := unmasked.FindString(fmt.Sprint(v)); m != "" {
				return k + "=" + m
			}
		}
	}
	return ""
}

func scrape(t testing.TB, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestOps_MetricsLogsShutdown drives traffic through the real binary, then
// checks the counters, that no log line holds a phone number in the clear
// (at debug level, where message bodies are logged), and that SIGTERM ends
// the daemon with exit code 0.
func TestOps_MetricsLogsShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, "log:\n  level: debug\n  format: json\n")
	p := start(t, cfg, addr)
	postSim(p.base, "m1", "081234567890", "SAMBAT jalan berlubang di Jl Ijen, hubungi 081298765432")
	postSim(p.base, "m1", "081234567890", "SAMBAT jalan berlubang di Jl Ijen, hubungi 081298765432")
	postSim(p.base, "m2", "+6285755512345", "SAMBAT sampah numpuk di Pasar Besar")
	postSim(p.base, "m3", "TELKOMSEL", "Promo kuota 50GB")
	postSim(p.base, "m4", "6285755512345", "CEK")
	want := []string{
		`sambatd_messages_in_total{channel="sim",outcome="stored"} 4`,
		`sambatd_messages_in_total{channel="sim",outcome="duplicate"} 1`,
		`sambatd_tickets{opd="DPUPRPKP",status="diterima"} 1`,
		`sambatd_tickets{opd="DLH",status="diterima"} 1`,
		`sambatd_messages_out_total{channel="sim",outcome="sent"} 3`,
		`sambatd_channel_up{channel="sim"} 1`,
	}
	eventually(t, 10*time.Second, "metrics after traffic", func() bool {
		m := scrape(t, p.base)
		for _, w := range want {
			if !strings.Contains(m, w) {
				return false
			}
		}
		return true
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.kill()
		t.Fatal("SIGTERM did not stop the daemon")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code after SIGTERM: got %d, want 0; logs:\n%s", code, p.logText())
	}
	logs := p.logText()
	if !strings.Contains(logs, "Pasar Besar") {
		t.Fatalf("debug logs should carry message bodies; got:\n%s", logs)
	}
	if m := unmaskedPhone(logs); m != "" {
		t.Fatalf("phone number %q in the logs:\n%s", m, logs)
	}
}

// TestOps_Reload edits the config of a running daemon: a good edit is
// applied on SIGHUP, a broken one is refused and the running config stays.
func TestOps_Reload(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, "")
	p := start(t, cfg, addr)
	defer p.kill()
	edit := func(extra string) {
		writeConfig(t, dir, addr, extra)
		p.cmd.Process.Signal(syscall.SIGHUP)
	}
	reply := func(id, from string) string {
		postSim(p.base, id, from, "SAMBAT lampu PJU mati di Jl Semeru "+id)
		var items []convItem
		eventually(t, 10*time.Second, "a reply", func() bool {
			items = conversation(t, p.base, from)
			return len(items) > 0 && items[len(items)-1].Direction == "out"
		})
		return items[len(items)-1].Text
	}
	edit("templates:\n  ack: \"Siap, sambat dicatat. Tiket {{.Ticket}}\"\n")
	eventually(t, 10*time.Second, "the good edit", func() bool {
		return strings.Contains(p.logText(), "config reloaded")
	})
	if got := reply("a", "+6281200000001"); !strings.HasPrefix(got, "Siap, sambat dicatat.") {
		t.Fatalf("after a good edit: got %q", got)
	}
	edit("templates:\n  ack: \"Tiket {{.Ticket\"\n")
	eventually(t, 10*time.Second, "the broken edit refused", func() bool {
		return strings.Contains(p.logText(), "config reload refused")
	})
	if !strings.Contains(p.logText(), "templates.ack") {
		t.Fatalf("the refusal should name the key:\n%s", p.logText())
	}
	if got := reply("b", "+6281200000002"); !strings.HasPrefix(got, "Siap, sambat dicatat.") {
		t.Fatalf("after a broken edit the running config stays: got %q", got)
	}
	edit("templates:\n  ack: \"Siap, sambat dicatat. Tiket {{.Ticket}}\"\nlog:\n  format: json\n")
	eventually(t, 10*time.Second, "a restart-only change reported", func() bool {
		return strings.Contains(p.logText(), "need a restart") && strings.Contains(p.logText(), "log.format")
	})
}

func TestUnmaskedPhone(t *testing.T) {
	for _, c := range []struct{ logs, want string }{
		{`{"time":"2026-11-27T17:59:05.085847862Z","msg":"shutting down"}`, ""},
		{`{"time":"2026-11-27T17:59:05.0Z","msg":"inbound","from":"081234****890"}`, ""},
		{`{"time":"2026-11-27T17:59:05.0Z","msg":"inbound","from":"081234567890"}`, "from=081234567890"},
		{`{"time":"2026-11-27T17:59:05.0Z","text":"hubungi +6281298765432"}`, "text=+6281298765432"},
		{"panic: sender 6285755512345", "6285755512345"},
	} {
		if got := unmaskedPhone(c.logs); got != c.want {
			t.Errorf("unmaskedPhone(%q) = %q, want %q", c.logs, got, c.want)
		}
	}
}

// TestOps_ReloadTokens: API tokens change on a reload, on the listener
// served. A reload that would leave a public listener without an admin
// token (its new http.listen being loopback, which waits for a restart)
// is refused, and the API and the simulator stay closed.
func TestOps_ReloadTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	write := func(listen, token string) string {
		t.Helper()
		path := filepath.Join(dir, "sambatd.yaml")
		cfg := fmt.Sprintf("store:\n  path: %s\nhttp:\n  listen: %s\n  admin_token: %q\nsimulator:\n  enabled: true\n",
			filepath.Join(dir, "sambat.db"), listen, token)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const first, second = "first-admin-token-0123456789abcdef", "second-admin-token-0123456789abcdef"
	p := start(t, write("0.0.0.0:"+port, first), addr)
	defer p.kill()
	status := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, p.base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	closed := func(when string) {
		t.Helper()
		for _, path := range []string{"/api/v1/tickets", "/sim"} {
			if got := status(path, ""); got != http.StatusUnauthorized {
				t.Fatalf("%s: GET %s without a token = %d, want 401", when, path, got)
			}
		}
	}
	closed("at start")
	if got := status("/api/v1/tickets", first); got != http.StatusOK {
		t.Fatalf("GET /api/v1/tickets with the admin token = %d, want 200", got)
	}
	// The file is also watched: wait for what each edit must bring about,
	// not for a count of reloads.
	write("127.0.0.1:"+port, "")
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the token removal refused, naming the key", func() bool {
		return strings.Contains(p.logText(), "http.admin_token: required while the daemon listens on")
	})
	closed("after the refused reload")
	if got := status("/api/v1/tickets", first); got != http.StatusOK {
		t.Fatalf("after the refused reload the old token = %d, want 200", got)
	}

	write("0.0.0.0:"+port, second)
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the new token applied", func() bool {
		return status("/api/v1/tickets", second) == http.StatusOK
	})
	if got := status("/api/v1/tickets", first); got != http.StatusUnauthorized {
		t.Fatalf("the old token after the change = %d, want 401", got)
	}
	closed("after the token change")
}
