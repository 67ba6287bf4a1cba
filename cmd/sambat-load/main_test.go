package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/twilio"
)

const (
	token  = "0123456789abcdef0123456789abcdef"
	public = "https://sambat.example.go.id/twilio/sms"
)

// memHandler stores messages by (channel, external id), like the store.
type memHandler struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (h *memHandler) Handle(_ context.Context, m intake.Message) (intake.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[m.ExternalID] {
		return intake.Result{Duplicate: true}, nil
	}
	h.seen[m.ExternalID] = true
	return intake.Result{InboundID: int64(len(h.seen))}, nil
}

func (h *memHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// daemon is a stand-in for sambatd: the real Twilio webhook (twilio-go's
// validator checks our signatures) and, when withCount, the count endpoint.
func daemon(t *testing.T, withCount bool) *httptest.Server {
	t.Helper()
	h := &memHandler{seen: map[string]bool{}}
	tw, err := twilio.New(twilio.Config{AccountSID: "AC1", AuthToken: token, From: "+14155550100", WebhookURL: public},
		twilio.Deps{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tw.WebhookPath(), tw.ServeWebhook)
	if withCount {
		// The engine "acts" on one more message per scrape.
		var mu sync.Mutex
		scrapes := 0
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			scrapes++
			fmt.Fprintf(w, "# TYPE sambatd_inbound_pending gauge\nsambatd_inbound_pending %d\n", max(3-scrapes, 0))
		})
		mux.HandleFunc("GET /api/v1/messages/count", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer admin1" || r.URL.Query().Get("channel") != "twilio" {
				http.Error(w, `{"error":"no"}`, http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]int{"count": h.count()})
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		withCount  bool
		token      string
		admin      string
		baselineN  int
		wantOK     int
		wantStored int
		wantPass   bool
		wantOut    []string
	}{
		{"Counted", true, token, "admin1", 20, 40, 40, true,
			[]string{"stored:      40 of 40 (OK)", "messages/s", "ratio:", "messages/s end to end"}},
		{"NoCountEndpoint", false, token, "", -1, 40, -1, true,
			[]string{"not checked (the daemon has no /api/v1/messages/count)", "baseline:    skipped",
				"acted on:    not measured (metrics answered HTTP 404)"}},
		{"NoAdminToken", true, token, "", -1, 40, -1, true, []string{"give -admin-token"}},
		{"WrongAuthToken", true, "ffffffffffffffffffffffffffffffff", "admin1", -1, 0, 0, false,
			[]string{"40 × HTTP 403", "stored:      0 of 40 (MISMATCH)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := daemon(t, tt.withCount)
			var errOut bytes.Buffer
			o, err := parseFlags([]string{"-url", srv.URL, "-n", "40", "-c", "4", "-auth-token", tt.token,
				"-webhook-url", public, "-admin-token", tt.admin, "-baseline-dir", t.TempDir(),
				"-baseline-n", itoa(tt.baselineN)}, &errOut)
			if err != nil {
				t.Fatalf("parseFlags: %v: %s", err, errOut.String())
			}
			rep, err := run(context.Background(), o)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if rep.OK != tt.wantOK || rep.Stored != tt.wantStored || rep.passed() != tt.wantPass {
				t.Errorf("ok %d stored %d passed %v, want %d %d %v", rep.OK, rep.Stored, rep.passed(),
					tt.wantOK, tt.wantStored, tt.wantPass)
			}
			if rep.P50 <= 0 || rep.P99 < rep.P50 {
				t.Errorf("p50 %v p99 %v, want 0 < p50 <= p99", rep.P50, rep.P99)
			}
			if tt.baselineN > 0 && (rep.BaselineErr != nil || rep.Baseline <= 0) {
				t.Errorf("baseline %v, %v; want a positive rate", rep.Baseline, rep.BaselineErr)
			}
			var out bytes.Buffer
			rep.print(&out)
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"Defaults", []string{"-auth-token", "x"}, true},
		{"NoToken", []string{"-auth-token", ""}, false},
		{"ZeroN", []string{"-auth-token", "x", "-n", "0"}, false},
		{"RelativeWebhook", []string{"-auth-token", "x", "-webhook-url", "/twilio/sms"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, &bytes.Buffer{})
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (o.WebhookURL != "http://127.0.0.1:8080/twilio/sms" || o.BaselineN != 1000) {
				t.Errorf("defaults: webhook %q baseline-n %d", o.WebhookURL, o.BaselineN)
			}
		})
	}
}

func TestSign(t *testing.T) {
	// The published vector of twilio-go's request validator tests.
	form := map[string][]string{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	got := twiliotest.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if want := "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
}

func TestPercentile(t *testing.T) {
	d := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	var s []time.Duration
	for _, v := range d {
		s = append(s, time.Duration(v))
	}
	if p := percentile(s, 0.5); p != 5 {
		t.Errorf("p50 %v, want 5", p)
	}
	if p := percentile(s, 0.99); p != 10 {
		t.Errorf("p99 %v, want 10", p)
	}
	if p := percentile(nil, 0.5); p != 0 {
		t.Errorf("empty p50 %v, want 0", p)
	}
}
