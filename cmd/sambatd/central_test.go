package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// open311 is a minimal GeoReport v2 server: it takes requests and lists
// them as open.
type open311 struct {
	mu    sync.Mutex
	posts []url.Values
}

func (o *open311) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	r.ParseForm()
	if r.Method == http.MethodPost && r.URL.Path == "/requests.json" {
		if r.PostForm.Get("api_key") != "kunci" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `[{"code":403,"description":"bad api_key"}]`)
			return
		}
		o.mu.Lock()
		o.posts = append(o.posts, r.PostForm)
		id := 7000 + len(o.posts)
		o.mu.Unlock()
		fmt.Fprintf(w, `[{"service_request_id":%d}]`, id)
		return
	}
	var out []map[string]any
	for _, id := range strings.Split(r.URL.Query().Get("service_request_id"), ",") {
		if id != "" {
			out = append(out, map[string]any{"service_request_id": id, "status": "open"})
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (o *open311) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.posts)
}

func TestServe_CentralSync(t *testing.T) {
	store311 := &open311{}
	srv := httptest.NewServer(store311)
	defer srv.Close()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, fmt.Sprintf("central:\n  url: %s\n  api_key: kunci\n  jurisdiction_id: malangkota.go.id\n"+
		"  updates: true\n  inbound_api_key: masuk\n  poll_interval: 1h\nsla:\n  quiet_hours: \"\"\n", srv.URL))
	p := start(t, cfg, addr)
	defer p.kill()
	const warga = "+6281234567890"
	postSim(p.base, "c1", warga, "SAMBAT jalan berlubang di Jl Ijen")
	eventually(t, 15*time.Second, "the ticket posted to the central store", func() bool { return store311.count() == 1 })
	var list struct {
		Tickets []struct {
			Number, Status string
			CentralID      string `json:"central_id"`
		}
	}
	eventually(t, 15*time.Second, "the ticket diteruskan", func() bool {
		getJSON(t, p.base+"/api/v1/tickets", &list)
		return len(list.Tickets) == 1 && list.Tickets[0].Status == "diteruskan"
	})
	if list.Tickets[0].CentralID != "7001" {
		t.Fatalf("central id: got %q, want 7001", list.Tickets[0].CentralID)
	}
	if got := store311.posts[0].Get("attribute[sms_ticket]"); got != list.Tickets[0].Number {
		t.Fatalf("attribute[sms_ticket]: got %q, want %q", got, list.Tickets[0].Number)
	}
	form := url.Values{"api_key": {"masuk"}, "update_id": {"u1"}, "service_request_id": {"7001"},
		"status": {"FIXED"}, "description": {"Sudah ditambal aspal"}, "updated_datetime": {time.Now().Format(time.RFC3339)}}
	for i := 0; i < 2; i++ { // the second is a redelivery
		resp, err := http.PostForm(p.base+"/open311/v2/servicerequestupdates.json", form)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("inbound update: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	eventually(t, 15*time.Second, "the resident told", func() bool {
		items := conversation(t, p.base, warga)
		return len(items) == 3 && strings.Contains(items[2].Text, "Sudah ditambal aspal")
	})
	form.Set("api_key", "salah")
	form.Set("update_id", "u2")
	if resp, _ := http.PostForm(p.base+"/open311/v2/servicerequestupdates.json", form); resp.StatusCode != 403 {
		t.Fatalf("wrong api key: got %d, want 403", resp.StatusCode)
	}
}
