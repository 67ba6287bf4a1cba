package twilio

import (
	"bytes"
	"context"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "0123456789abcdef0123456789abcdef"
	testFrom    = "+14155550100"
	publicHook  = "https://sambat.example.go.id/twilio/sms"
	publicState = "https://sambat.example.go.id/twilio/status"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
}

// fakeHandler keeps messages in memory, deduplicated by (channel,
// external id) like the store. before, when set, runs first: it can block
// or fail.
type fakeHandler struct {
	mu     sync.Mutex
	msgs   []intake.Message
	keys   map[string]bool
	calls  int
	before func(ctx context.Context, m intake.Message) error
}

func newHandler() *fakeHandler { return &fakeHandler{keys: map[string]bool{}} }

func (f *fakeHandler) Handle(ctx context.Context, m intake.Message) (intake.Result, error) {
	f.mu.Lock()
	f.calls++
	before := f.before
	f.mu.Unlock()
	if before != nil {
		if err := before(ctx, m); err != nil {
			return intake.Result{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := m.Channel + "\x00" + m.ExternalID
	if f.keys[key] {
		return intake.Result{Duplicate: true}, nil
	}
	f.keys[key] = true
	f.msgs = append(f.msgs, m)
	return intake.Result{InboundID: int64(len(f.msgs))}, nil
}

func (f *fakeHandler) messages() []intake.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]intake.Message(nil), f.msgs...)
}

// since returns the messages stored after the first n, and how many there are.
func (f *fakeHandler) since(n int) ([]intake.Message, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]intake.Message(nil), f.msgs[n:]...), len(f.msgs)
}

func (f *fakeHandler) stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

func (f *fakeHandler) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeDeliveries records MarkDelivery calls; err is returned when set.
type fakeDeliveries struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeDeliveries) MarkDelivery(_ context.Context, via, id, status string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, via+" "+id+" "+status)
	return f.err
}

// metricsLog records Deps.Metrics calls as "name label…".
type metricsLog struct {
	mu    sync.Mutex
	calls []string
}

func (m *metricsLog) record(name string, v ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, strings.Join(append([]string{name}, v...), " "))
}

func (m *metricsLog) has(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.calls {
		if c == s {
			return true
		}
	}
	return false
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type rig struct {
	tw      *Twilio
	h       *fakeHandler
	dl      *fakeDeliveries
	clock   *fakeClock
	metrics *metricsLog
	log     *syncBuffer
}

// newRig builds a channel against apiURL ("" for none) with the fakes.
func newRig(t testing.TB, apiURL string, edit func(*Config)) *rig {
	t.Helper()
	r := &rig{h: newHandler(), dl: &fakeDeliveries{}, clock: newClock(), metrics: &metricsLog{}, log: &syncBuffer{}}
	cfg := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		WebhookURL: publicHook, APIURL: apiURL}
	if edit != nil {
		edit(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tw, err := New(cfg, Deps{Handler: r.h, Deliveries: r.dl, Clock: r.clock, Logger: logger,
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, Metrics: r.metrics.record})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = tw.Close() })
	r.tw = tw
	return r
}

// inbound is a typical signed-able webhook form.
func inbound(sid, from, body string) url.Values {
	return url.Values{
		"MessageSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {testSID},
		"From": {from}, "To": {testFrom}, "Body": {body}, "NumMedia": {"0"},
		"NumSegments": {"1"}, "ApiVersion": {"2010-04-01"},
	}
}

// post sends body with signature sig to the handler h and returns the recorder.
func post(h http.HandlerFunc, target, body, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	return rec
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSign(t *testing.T) {
	// The published vector of twilio-go's own validator tests: it shows
	// the hand-made signer is right without asking the code under test.
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	got := twiliotest.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if want := "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
}
