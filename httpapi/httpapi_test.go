package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/httpapi"
	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

type env struct {
	srv    *httptest.Server
	mux    *http.ServeMux
	engine *intake.Engine
	ticket string // filed by +6281234567890, category SAMPAH (DLH)
	secret string // a RAHASIA ticket
}

type checker struct{ h intake.Health }

func (c checker) Health(context.Context) intake.Health { return c.h }

func newEnv(t testing.TB, auth httpapi.Auth, parts ...intake.Checker) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "api.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := intake.Settings{Categories: intake.DefaultCategories(), OPDs: intake.DefaultOPDs()}
	e, err := intake.NewEngine(db, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if parts == nil {
		parts = []intake.Checker{checker{intake.Health{Name: "sim", OK: true, Inbound: true}}}
	}
	api := httpapi.New(e, func() []intake.Checker { return parts }, db.Ping, auth, intake.SystemClock{},
		slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	api.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	file := func(id, text string) string {
		res, err := e.Handle(context.Background(), intake.Message{Channel: "sim", ExternalID: id,
			From: "+6281234567890", Text: text})
		if err != nil || res.Ticket == "" {
			t.Fatalf("file %q: %+v %v", text, res, err)
		}
		return res.Ticket
	}
	return &env{srv: srv, mux: mux, engine: e, ticket: file("a", "SAMBAT SAMPAH numpuk di TPS Sukun"),
		secret: file("b", "SAMBAT RAHASIA JALAN pungli parkir di Jl Ijen")}
}

func (e *env) do(t testing.TB, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp.StatusCode, v
}

func TestAPI_Auth(t *testing.T) {
	e := newEnv(t, httpapi.Auth{AdminToken: "admin-secret", OPDTokens: map[string]string{"dlh-token": "DLH"}})
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"NoToken", "", 401}, {"WrongToken", "nope", 401}, {"Admin", "admin-secret", 200}, {"Department", "dlh-token", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(t, "GET", "/api/v1/tickets", tc.token, "")
			if code != tc.want {
				t.Fatalf("got %d, want %d", code, tc.want)
			}
			if code == 401 && body["error"] == "" {
				t.Fatalf("401 without an error reason: %v", body)
			}
		})
	}
	t.Run("DepartmentSeesOnlyItsOwn", func(t *testing.T) {
		_, body := e.do(t, "GET", "/api/v1/tickets", "dlh-token", "")
		ts := body["tickets"].([]any)
		if len(ts) != 1 || ts[0].(map[string]any)["number"] != e.ticket {
			t.Fatalf("DLH sees %v, want only %s", ts, e.ticket)
		}
		if code, _ := e.do(t, "GET", "/api/v1/tickets/"+e.secret, "dlh-token", ""); code != 404 {
			t.Fatalf("another department's ticket: got %d, want 404", code)
		}
	})
	t.Run("OpenOnLoopbackWithoutToken", func(t *testing.T) {
		open := newEnv(t, httpapi.Auth{Open: true})
		if code, _ := open.do(t, "GET", "/api/v1/tickets", "", ""); code != 200 {
			t.Fatalf("got %d, want 200", code)
		}
	})
}

func TestAPI_Tickets(t *testing.T) {
	e := newEnv(t, httpapi.Auth{Open: true})
	t.Run("Show", func(t *testing.T) {
		code, body := e.do(t, "GET", "/api/v1/tickets/"+e.ticket, "", "")
		if code != 200 || body["number"] != e.ticket || body["status"] != "diterima" || body["opd"] != "DLH" {
			t.Fatalf("got %d %v", code, body)
		}
		if evs, _ := body["events"].([]any); len(evs) != 1 {
			t.Fatalf("events: got %v", body["events"])
		}
		if _, ok := body["attachments"].([]any); !ok {
			t.Fatalf("attachments must be a list: %v", body["attachments"])
		}
	})
	t.Run("Filters", func(t *testing.T) {
		_, body := e.do(t, "GET", "/api/v1/tickets?category=JALAN", "", "")
		if ts := body["tickets"].([]any); len(ts) != 1 {
			t.Fatalf("category filter: got %v", ts)
		}
		if code, body := e.do(t, "GET", "/api/v1/tickets?status=bogus", "", ""); code != 400 || body["error"] == nil {
			t.Fatalf("bad status filter: got %d %v", code, body)
		}
		if code, _ := e.do(t, "GET", "/api/v1/tickets?limit=x", "", ""); code != 400 {
			t.Fatalf("bad limit: got %d", code)
		}
	})
	t.Run("SetStatus", func(t *testing.T) {
		path := "/api/v1/tickets/" + e.ticket + "/status"
		if code, _ := e.do(t, "POST", path, "", `{"status":"diproses","note":"petugas meluncur"}`); code != 200 {
			t.Fatalf("got %d, want 200", code)
		}
		for _, tc := range []struct {
			name, path, body string
			want             int
		}{
			{"BadJSON", path, `{`, 400},
			{"UnknownStatus", path, `{"status":"beres"}`, 400},
			{"UnknownTicket", "/api/v1/tickets/1234567/status", `{"status":"selesai"}`, 404},
			{"NotAllowed", path, `{"status":"diterima"}`, 409},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := e.do(t, "POST", tc.path, "", tc.body)
				if code != tc.want || body["error"] == nil {
					t.Fatalf("got %d %v, want %d with an error", code, body, tc.want)
				}
			})
		}
		ts, _ := e.engine.TicketDetail(context.Background(), e.ticket)
		if ts.Status != intake.Diproses || len(ts.Events) != 2 || ts.Events[1].Note != "petugas meluncur" {
			t.Fatalf("after set-status: %+v", ts)
		}
	})
}

func TestAPI_Readyz(t *testing.T) {
	down := checker{intake.Health{Name: "modem:m1", OK: false, Inbound: true, Error: "no answer"}}
	up := checker{intake.Health{Name: "sim", OK: true, Inbound: true}}
	slow := checker{intake.Health{Name: "central", OK: false, Error: "timeout"}}
	for _, tc := range []struct {
		name  string
		parts []intake.Checker
		want  int
	}{
		{"OneInboundUp", []intake.Checker{down, up, slow}, 200},
		{"NoInboundUp", []intake.Checker{down, slow}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpapi.Auth{Open: true}, tc.parts...)
			code, body := e.do(t, "GET", "/readyz", "", "")
			if code != tc.want {
				t.Fatalf("got %d, want %d: %v", code, tc.want, body)
			}
			if parts := body["parts"].([]any); len(parts) != len(tc.parts)+1 {
				t.Fatalf("every part must be reported: %v", parts)
			}
		})
	}
}

// TestAPI_UnknownEndpoints: under /api/v1 an unknown path is a JSON 404
// and a known path with another method a JSON 405 naming the methods, both
// only after authentication (a stranger learns no path); what another
// package mounts below /api/v1 still gets its requests.
func TestAPI_UnknownEndpoints(t *testing.T) {
	e := newEnv(t, httpapi.Auth{AdminToken: "admin-secret"})
	e.mux.HandleFunc("/api/v1/sim/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"sim":"`+r.Method+" "+r.URL.Path+`"}`)
	})
	status := "/api/v1/tickets/" + e.ticket + "/status"
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
		body, allow               string
	}{
		{"UnknownNoToken", "GET", "/api/v1/whatever", "", 401, "missing or wrong bearer token", ""},
		{"UnknownWrongToken", "GET", "/api/v1/whatever", "nope", 401, "missing or wrong bearer token", ""},
		{"Unknown", "GET", "/api/v1/whatever", "admin-secret", 404, "no such endpoint: GET /api/v1/whatever", ""},
		{"UnknownPost", "POST", "/api/v1/tickets/" + e.ticket + "/notes", "admin-secret", 404,
			"no such endpoint: POST /api/v1/tickets/" + e.ticket + "/notes", ""},
		{"TrailingSlash", "GET", "/api/v1/tickets/", "admin-secret", 404, "no such endpoint: GET /api/v1/tickets/", ""},
		{"Root", "GET", "/api/v1", "admin-secret", 404, "no such endpoint: GET /api/v1", ""},
		{"WrongMethodNoToken", "DELETE", "/api/v1/tickets", "", 401, "missing or wrong bearer token", ""},
		{"WrongMethodList", "DELETE", "/api/v1/tickets", "admin-secret", 405,
			"method DELETE not allowed on /api/v1/tickets", "GET, HEAD"},
		{"WrongMethodShow", "PUT", "/api/v1/tickets/" + e.ticket, "admin-secret", 405, "", "GET, HEAD"},
		{"WrongMethodStatus", "GET", status, "admin-secret", 405, "", "POST"},
		{"WrongMethodCount", "POST", "/api/v1/messages/count", "admin-secret", 405, "", "GET, HEAD"},
		{"Known", "GET", "/api/v1/tickets", "admin-secret", 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("got %d, body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s %v, want %d JSON", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.want)
			}
			if msg, _ := body["error"].(string); tc.want >= 400 && (msg == "" || !strings.Contains(msg, tc.body)) {
				t.Errorf("error %q, want one with %q", msg, tc.body)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
	t.Run("MountedBelow", func(t *testing.T) {
		code, body := e.do(t, "POST", "/api/v1/sim/messages", "", "{}")
		if code != http.StatusAccepted || body["sim"] != "POST /api/v1/sim/messages" {
			t.Fatalf("got %d %v, want the mounted handler's 202", code, body)
		}
	})
}
