package main

import (
	"encoding/json"
	"fmt"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	twilioSID   = "AC00000000000000000000000000000000"
	twilioToken = "0123456789abcdef0123456789abcdef"
)

// fakeTwilio is a Twilio-compatible REST API on loopback: it accepts
// message creation and lists no inbound messages.
type fakeTwilio struct {
	mu    sync.Mutex
	sent  map[string]int // To → messages created
	n     int
	since []string // DateSent> of each list request (reconciliation)
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet {
		f.mu.Lock()
		f.since = append(f.since, r.URL.Query().Get("DateSent>"))
		f.mu.Unlock()
		fmt.Fprint(w, `{"messages":[],"next_page_uri":null,"page":0,"page_size":50}`)
		return
	}
	r.ParseForm()
	f.mu.Lock()
	f.n++
	sid := fmt.Sprintf("SM%032d", f.n)
	f.sent[r.PostForm.Get("To")]++
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "to": r.PostForm.Get("To")})
}

func (f *fakeTwilio) count(to string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[to]
}

func postTwilio(base, webhookURL, sid, from, body string) int {
	form := twiliotest.Inbound(sid, from, "whatsapp:+14155550100", body)
	req, _ := http.NewRequest("POST", base+"/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twilioToken, webhookURL, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestKill_TwilioWebhooks SIGKILLs the daemon at seeded random moments
// while signed WhatsApp webhooks arrive: every acknowledged message is
// stored once, one ticket and one reply row each, and every reply reaches
// the (fake) Twilio API at least once.
func TestKill_TwilioWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a daemon process")
	}
	api := &fakeTwilio{sent: map[string]int{}}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	const n = 300
	dir := t.TempDir()
	addr := freeAddr(t)
	webhook := "https://sambat.example.go.id/twilio/sms"
	cfg := writeConfig(t, dir, addr, fmt.Sprintf("intake:\n  max_per_day: 0\ntwilio:\n  account_sid: %s\n  auth_token: %s\n"+
		"  from: \"+14155550100\"\n  webhook_url: %s\n  api_url: %s\n  send_interval: 0s\n  reconcile_lookback: 72h\n"+
		"outbound:\n  order: [twilio]\n",
		twilioSID, twilioToken, webhook, apiSrv.URL))
	phone := func(i int) string { return fmt.Sprintf("+62857%08d", i) }
	seed, p := killDuringBursts(t, cfg, addr, n, func(base string, i int) int {
		return postTwilio(base, webhook, fmt.Sprintf("SM%032d", i), "whatsapp:"+phone(i),
			fmt.Sprintf("SAMBAT sampah menumpuk nomor %d di Pasar Besar", i))
	})
	defer p.kill()
	verifyBurst(t, p, "twilio", n, phone, seed)
	for i := 0; i < n; i++ {
		if api.count("whatsapp:"+phone(i)) < 1 {
			t.Fatalf("seed %d: no reply reached Twilio for %d", seed, i)
		}
	}
	// Each start reconciled, as far back as twilio.reconcile_lookback says.
	api.mu.Lock()
	since := append([]string(nil), api.since...)
	api.mu.Unlock()
	if len(since) == 0 {
		t.Fatal("the daemon never listed inbound messages")
	}
	at, err := time.Parse(time.RFC3339, since[len(since)-1])
	if ago := time.Since(at); err != nil || ago < 71*time.Hour || ago > 73*time.Hour {
		t.Fatalf("reconciliation listed from %q (%v ago, %v), want 72h back", since[len(since)-1], ago, err)
	}
}
