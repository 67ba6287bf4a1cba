package sim_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/sim"
	"github.com/kotamalang/sambatd/store"
)

func newSim(t testing.TB) (*httptest.Server, *intake.Engine, *sim.Sim) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "sim.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, err := intake.NewEngine(db, intake.Settings{Categories: intake.DefaultCategories(), OPDs: intake.DefaultOPDs()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(e, e, func() []sim.Contact { return []sim.Contact{{Phone: "+6281330001111", Label: "KIM"}} },
		nil, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	s.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, e, s
}

func post(t *testing.T, srv *httptest.Server, body string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/api/v1/sim/messages", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]string
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestSim_Post(t *testing.T) {
	srv, e, _ := newSim(t)
	code, v := post(t, srv, `{"from":"081234567890","text":"SAMBAT lampu mati di Jl Semeru","id":"x1"}`)
	if code != 202 || v["id"] != "x1" {
		t.Fatalf("got %d %v, want 202 with the id", code, v)
	}
	// The 202 came after the commit: the message is readable at once.
	if n, _ := e.CountInbound(context.Background(), "sim"); n != 1 {
		t.Fatalf("stored %d, want 1", n)
	}
	if code, _ := post(t, srv, `{"from":"081234567890","text":"SAMBAT lampu mati di Jl Semeru","id":"x1"}`); code != 202 {
		t.Fatalf("repeat id: got %d", code)
	}
	if code, v := post(t, srv, `{"from":"TELKOMSEL","text":"Promo kuota!"}`); code != 202 || !strings.HasPrefix(v["id"], "sim-") {
		t.Fatalf("alphanumeric sender: got %d %v", code, v)
	}
	if n, _ := e.CountInbound(context.Background(), "sim"); n != 2 {
		t.Fatalf("stored %d, want 2 (the repeated id absorbed)", n)
	}
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"BadJSON", `{"from":`, 400},
		{"NoSender", `{"text":"halo"}`, 400},
		{"TooBig", `{"from":"0812345678","text":"` + strings.Repeat("a", sim.MaxBody) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, v := post(t, srv, tc.body); code != tc.want || v["error"] == "" {
				t.Fatalf("got %d %v, want %d with a reason", code, v, tc.want)
			}
		})
	}
}

func TestSim_Conversation(t *testing.T) {
	srv, _, _ := newSim(t)
	post(t, srv, `{"from":"+6281234567890","text":"SAMBAT sampah numpuk di pasar"}`)
	post(t, srv, `{"from":"+6281234567890","text":"CEK"}`)
	resp, err := http.Get(srv.URL + "/api/v1/sim/messages?phone=081234567890")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []intake.ConversationItem
	json.NewDecoder(resp.Body).Decode(&items)
	var dirs []string
	for _, it := range items {
		dirs = append(dirs, it.Direction)
	}
	if got := strings.Join(dirs, ","); got != "in,out,in,out" {
		t.Fatalf("got %s, want in,out,in,out", got)
	}
	number := regexp.MustCompile(`\d{7}`).FindString(items[1].Text)
	if number == "" || !strings.Contains(items[3].Text, number) {
		t.Fatalf("bare CEK %q should list the ticket of the ack %q", items[3].Text, items[1].Text)
	}
	bad, _ := http.Get(srv.URL + "/api/v1/sim/messages?phone=abc")
	if bad.StatusCode != 400 {
		t.Fatalf("bad phone: got %d", bad.StatusCode)
	}
	page, _ := http.Get(srv.URL + "/sim")
	b, _ := io.ReadAll(page.Body)
	if page.StatusCode != 200 || !strings.Contains(string(b), "/api/v1/sim/messages") {
		t.Fatalf("page: got %d", page.StatusCode)
	}
}
