package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
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
	mu   sync.Mutex
	sent map[string]int // To → messages created
	n    int
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet {
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

// sign computes X-Twilio-Signature by hand: base64(HMAC-SHA1(token, URL +
// each POST parameter's name and value, names sorted)).
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func postTwilio(base, webhookURL, sid, from, body string) int {
	form := url.Values{"MessageSid": {sid}, "AccountSid": {twilioSID}, "From": {from},
		"To": {"whatsapp:+14155550100"}, "Body": {body}, "NumMedia": {"0"}}
	req, _ := http.NewRequest("POST", base+"/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sign(twilioToken, webhookURL, form))
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
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SAMBAT_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with SAMBAT_KILL_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	api := &fakeTwilio{sent: map[string]int{}}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	const n, kills = 300, 3
	dir := t.TempDir()
	addr := freeAddr(t)
	webhook := "https://sambat.example.go.id/twilio/sms"
	cfg := writeConfig(t, dir, addr, fmt.Sprintf("intake:\n  max_per_day: 0\ntwilio:\n  account_sid: %s\n  auth_token: %s\n"+
		"  from: \"+14155550100\"\n  webhook_url: %s\n  api_url: %s\noutbound:\n  order: [twilio]\n",
		twilioSID, twilioToken, webhook, apiSrv.URL))
	phone := func(i int) string { return fmt.Sprintf("+62857%08d", i) }
	acked := make([]bool, n)
	post := func(base string, i int) int {
		return postTwilio(base, webhook, fmt.Sprintf("SM%032d", i), "whatsapp:"+phone(i),
			fmt.Sprintf("SAMBAT sampah menumpuk nomor %d di Pasar Besar", i))
	}
	for round := 0; ; round++ {
		p := start(t, cfg, addr)
		var wg sync.WaitGroup
		if round == kills {
			burstWith(&wg, p.base, acked, post, -1, nil)
			wg.Wait()
			verifyBurst(t, p, "twilio", n, phone, seed)
			for i := 0; i < n; i++ {
				if api.count("whatsapp:"+phone(i)) < 1 {
					t.Fatalf("seed %d: no reply reached Twilio for %d", seed, i)
				}
			}
			p.kill()
			return
		}
		left := n - count(acked)
		burstWith(&wg, p.base, acked, post, count(acked)+1+rng.IntN(left*2/3+1), func() { p.cmd.Process.Kill() })
		wg.Wait()
		p.kill()
		t.Logf("round %d: killed with %d of %d acknowledged", round, count(acked), n)
	}
}
