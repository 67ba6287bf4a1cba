package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is the daemon built once for every test that runs it as a
// process (and kills it).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sambatd-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sambatd")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build sambatd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one run of the daemon binary.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	base string
	logs *lockedWriter
	done chan struct{}
}

// freeAddr finds a loopback port that is free now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes a config file for a test daemon in dir.
func writeConfig(t testing.TB, dir, addr, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "sambatd.yaml")
	cfg := fmt.Sprintf("store:\n  path: %s\nhttp:\n  listen: %s\nsimulator:\n  enabled: true\n%s",
		filepath.Join(dir, "sambat.db"), addr, extra)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs the daemon and waits until /healthz answers.
func start(t testing.TB, cfgPath, addr string, env ...string) *proc {
	t.Helper()
	p := &proc{t: t, base: "http://" + addr, logs: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, "serve", "--config", cfgPath)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("daemon exited at start: %s", p.logText())
		default:
		}
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a process we don't own, with a deadline
	}
	p.kill()
	t.Fatalf("daemon did not answer /healthz: %s", p.logText())
	return nil
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) logText() string {
	return p.logs.String()
}

// postSim posts one simulated SMS; it returns the HTTP status (0 when the
// request failed, e.g. the daemon was killed).
func postSim(base, id, from, text string) int {
	body, _ := json.Marshal(map[string]string{"id": id, "from": from, "text": text})
	resp, err := http.Post(base+"/api/v1/sim/messages", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

type convItem struct {
	Direction string `json:"direction"`
	Text      string `json:"text"`
	Status    string `json:"status"`
}

func conversation(t *testing.T, base, phone string) []convItem {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/sim/messages?phone=" + strings.ReplaceAll(phone, "+", "%2B"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []convItem
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
		t.Fatalf("decode conversation: %v", err)
	}
	return items
}

// getJSON decodes a GET into v and returns the status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond) // polling another process's state, with a deadline
	}
}
