package twilio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

func TestSend(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Config)
		to        string
		answer    string
		wantErr   error  // nil: success
		wantText  string // in the error
		wantFrom  string
		wantMSSID string
	}{
		{"SMS", nil, "+6281234567890", "ok", nil, "", testFrom, ""},
		{"WhatsApp", nil, "whatsapp:+6281234567890", "ok", nil, "", "whatsapp:" + testFrom, ""},
		{"WhatsAppConfiguredWithPrefix", func(c *Config) { c.From = "whatsapp:" + testFrom },
			"whatsapp:+6281234567890", "ok", nil, "", "whatsapp:" + testFrom, ""},
		{"MessagingService", func(c *Config) { c.From = ""; c.MessagingServiceSID = "MG0123" },
			"+6281234567890", "ok", nil, "", "", "MG0123"},
		{"WhatsAppViaService", func(c *Config) { c.From = ""; c.MessagingServiceSID = "MG0123" },
			"whatsapp:+6281234567890", "ok", nil, "", "", "MG0123"},
		{"OptedOut", nil, "+6281234567890", "21610", intake.ErrPermanent, "opted out", testFrom, ""},
		{"TooMany", nil, "+6281234567890", "429", errRetry, "429", testFrom, ""},
		{"ServerError", nil, "+6281234567890", "500", errRetry, "upstream exploded", testFrom, ""},
		{"BadNumber", nil, "+6281234567890", "400", intake.ErrPermanent, "21211: The 'To' number is not a valid", testFrom, ""},
		{"Unauthorized", nil, "+6281234567890", "401", intake.ErrChannelDown, "20003", testFrom, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.script = []string{tt.answer}
			r := newRig(t, api.srv.URL, tt.edit)
			sid, err := r.tw.Send(context.Background(), intake.Outgoing{ID: 7, To: tt.to, Text: "Tiket 1234567 diterima"})
			checkSendErr(t, err, tt.wantErr, tt.wantText)
			if tt.wantErr == nil && !strings.HasPrefix(sid, "SM") {
				t.Errorf("sid %q, want SM…", sid)
			}
			forms := api.createdForms()
			if len(forms) != 1 {
				t.Fatalf("%d create calls, want 1", len(forms))
			}
			f := forms[0]
			if f.Get("To") != tt.to || f.Get("Body") != "Tiket 1234567 diterima" {
				t.Errorf("To %q Body %q", f.Get("To"), f.Get("Body"))
			}
			if f.Get("From") != tt.wantFrom || f.Get("MessagingServiceSid") != tt.wantMSSID {
				t.Errorf("From %q MessagingServiceSid %q, want %q %q", f.Get("From"),
					f.Get("MessagingServiceSid"), tt.wantFrom, tt.wantMSSID)
			}
			if f.Get("StatusCallback") != publicState {
				t.Errorf("StatusCallback %q, want %q", f.Get("StatusCallback"), publicState)
			}
		})
	}
}

// errRetry stands for "retried": neither permanent nor channel down.
var errRetry = errors.New("retry")

func checkSendErr(t *testing.T, err, want error, text string) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Send: %v", err)
	case want == nil:
	case err == nil:
		t.Fatalf("Send: no error, want %v", want)
	case want == errRetry && (errors.Is(err, intake.ErrPermanent) || errors.Is(err, intake.ErrChannelDown)):
		t.Errorf("error %v is not retryable", err)
	case want != errRetry && !errors.Is(err, want):
		t.Errorf("error %v, want %v", err, want)
	}
	if err != nil && !strings.Contains(err.Error(), text) {
		t.Errorf("error %q lacks %q", err, text)
	}
}

func TestSend_Network(t *testing.T) {
	api := newFakeAPI(t)
	r := newRig(t, api.srv.URL, nil)
	api.srv.Close()
	ctx := context.Background()
	for i := range downFailures {
		if h := r.tw.Health(ctx); !h.OK {
			t.Fatalf("health not OK after %d failures, want OK before %d: %+v", i, downFailures, h)
		}
		_, err := r.tw.Send(ctx, intake.Outgoing{To: "+6281234567890", Text: "x"})
		checkSendErr(t, err, errRetry, "")
	}
	if h := r.tw.Health(ctx); h.OK || h.Error == "" {
		t.Errorf("health %+v after %d network failures, want not OK with an error", h, downFailures)
	}
	r.clock.mu.Lock()
	r.clock.now = r.clock.now.Add(coolDown)
	r.clock.mu.Unlock()
	if h := r.tw.Health(ctx); !h.OK {
		t.Errorf("health %+v after the cool-down, want OK for a probe", h)
	}
}

func TestSend_NoRecipient(t *testing.T) {
	api := newFakeAPI(t)
	r := newRig(t, api.srv.URL, nil)
	_, err := r.tw.Send(context.Background(), intake.Outgoing{Text: "x"})
	checkSendErr(t, err, intake.ErrPermanent, "no recipient")
	if n := len(api.createdForms()); n != 0 {
		t.Errorf("%d create calls, want 0", n)
	}
}

func TestSend_Health(t *testing.T) {
	api := newFakeAPI(t)
	api.script = []string{"401", "ok"}
	r := newRig(t, api.srv.URL, nil)
	ctx := context.Background()
	if _, err := r.tw.Send(ctx, intake.Outgoing{To: "+6281234567890", Text: "x"}); err == nil {
		t.Fatal("first send: no error, want 401")
	}
	h := r.tw.Health(ctx)
	if h.OK || !h.Inbound || h.Name != "twilio" {
		t.Errorf("health after 401: %+v, want twilio, inbound, not OK", h)
	}
	if _, err := r.tw.Send(ctx, intake.Outgoing{To: "+6281234567890", Text: "x"}); err != nil {
		t.Fatalf("second send: %v", err)
	}
	if h := r.tw.Health(ctx); !h.OK {
		t.Errorf("health after a good send: %+v, want OK", h)
	}
}

func TestSend_Canceled(t *testing.T) {
	api := newFakeAPI(t)
	r := newRig(t, api.srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.tw.Send(ctx, intake.Outgoing{To: "+6281234567890", Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if n := len(api.createdForms()); n != 0 {
		t.Errorf("%d create calls after cancel, want 0", n)
	}
}

// TestSend_Interval: sends from several goroutines reach the API at least
// SendInterval apart, by the API's own clock.
func TestSend_Interval(t *testing.T) {
	const interval, workers, each = 20 * time.Millisecond, 3, 2
	api := newFakeAPI(t)
	r := newRig(t, api.srv.URL, func(c *Config) { c.SendInterval = interval })
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := r.tw.Send(context.Background(), intake.Outgoing{ID: int64(w*each + i),
					To: fmt.Sprintf("+62812345678%02d", w*each+i), Text: "Tiket 1234567 diterima"})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	at := api.receivedTimes()
	if len(at) != workers*each {
		t.Fatalf("%d create calls, want %d", len(at), workers*each)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < interval {
			t.Errorf("requests %d and %d arrived %s apart, want at least %s", i-1, i, gap, interval)
		}
	}
}

// TestSend_IntervalCanceled: a caller waiting for its turn (for the pause
// or behind another waiting caller) leaves when its ctx ends, sending nothing.
func TestSend_IntervalCanceled(t *testing.T) {
	api := newFakeAPI(t)
	r := newRig(t, api.srv.URL, func(c *Config) { c.SendInterval = time.Hour })
	if _, err := r.tw.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "x"}); err != nil {
		t.Fatalf("first send: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const waiting = 3
	errs := make(chan error, waiting)
	for range waiting {
		go func() {
			_, err := r.tw.Send(ctx, intake.Outgoing{To: "+6281234567891", Text: "y"})
			errs <- err
		}()
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	deadline := time.After(10 * time.Second) // far below the hour they would wait
	for range waiting {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
		case <-deadline:
			t.Fatal("Send still waiting 10s after its ctx was canceled")
		}
	}
	if n := len(api.createdForms()); n != 1 {
		t.Errorf("%d create calls, want only the first", n)
	}
}

func TestNormaliseError(t *testing.T) {
	api := newFakeAPI(t)
	api.script = []string{"500"}
	r := newRig(t, api.srv.URL, nil)
	_, err := r.tw.Send(context.Background(), intake.Outgoing{To: "+6281234567890", Text: "x"})
	status, _, msg, ok := restError(err)
	if !ok || status != 500 || msg != "upstream exploded" {
		t.Errorf("restError = %d %q %v, want 500 from a plain-text answer", status, msg, ok)
	}
}
