package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/config"
)

// TestServe_SimulatorAccess: the simulator is open on a loopback listener
// and needs the admin token on any other.
func TestServe_SimulatorAccess(t *testing.T) {
	for _, tc := range []struct {
		name, listen, token string
		want                int
	}{
		{"Loopback", "127.0.0.1:8080", "", 202},
		{"PublicNoToken", "0.0.0.0:8080", "", 401},
		{"PublicWrongToken", "0.0.0.0:8080", "nope", 401},
		{"PublicAdmin", "0.0.0.0:8080", "rahasia-admin", 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveInProcess(t, func(cfg *config.Config) {
				cfg.HTTP.Listen = tc.listen
				if tc.listen != "127.0.0.1:8080" {
					cfg.HTTP.AdminToken = "rahasia-admin"
				}
			})
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/sim/messages",
				strings.NewReader(`{"from":"+6281234567890","text":"SAMBAT tes"}`))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestServe_APIUnknownPaths: with the simulator mounted below /api/v1, its
// paths still reach it while an unknown API path or a wrong method gets
// the API's JSON error.
func TestServe_APIUnknownPaths(t *testing.T) {
	srv := serveInProcess(t, func(*config.Config) {})
	for _, tc := range []struct {
		method, path string
		want         int
		ctype        string
	}{
		{"GET", "/api/v1/sim/messages?phone=%2B6281234567890", 200, "application/json"},
		{"GET", "/api/v1/sim/contacts", 200, "application/json"},
		{"GET", "/api/v1/nope", 404, "application/json"},
		{"DELETE", "/api/v1/tickets", 405, "application/json"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s %s: got %d %s, want %d %s", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), tc.want, tc.ctype)
		}
	}
}

// serveInProcess opens the daemon's parts on the embedded default config,
// changed by change, with a store in a temporary directory, and serves its
// routes on a test server closed with the test.
func serveInProcess(t *testing.T, change func(*config.Config)) *httptest.Server {
	t.Helper()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.Path = filepath.Join(t.TempDir(), "s.db")
	change(cfg)
	d := &daemon{cfg: cfg, logger: slog.New(slog.DiscardHandler), mux: http.NewServeMux()}
	if err := d.open(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.mux)
	t.Cleanup(func() {
		srv.Close()
		d.db.Close()
	})
	return srv
}
