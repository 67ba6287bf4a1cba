package twilio

import (
	"context"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kotamalang/sambatd/intake"
)

func TestReconcile(t *testing.T) {
	api := newFakeAPI(t)
	r := newRig(t, api.srv.URL, nil)
	now := r.clock.Now()
	wa := "whatsapp:" + testFrom
	api.addMessage("SMa0000000000000000000000000000001", "+6281111111111", testFrom, "SAMBAT satu", "inbound", "received", now.Add(-time.Hour), 0)
	api.addMessage("SMa0000000000000000000000000000002", "+6282222222222", testFrom, "SAMBAT dua", "inbound", "received", now.Add(-50*time.Minute), 0)
	api.addMessage("SMa0000000000000000000000000000003", "+6283333333333", testFrom, "CEK 1", "inbound", "received", now.Add(-40*time.Minute), 0)
	api.addMessage("MMa0000000000000000000000000000004", "+6284444444444", testFrom, "foto", "inbound", "received", now.Add(-30*time.Minute), 1)
	api.addMessage("SMa0000000000000000000000000000005", "whatsapp:+6285555555555", wa, "SAMBAT wa", "inbound", "received", now.Add(-20*time.Minute), 0)
	api.addMessage("SMa0000000000000000000000000000006", testFrom, "+6286666666666", "reply", "outbound-api", "delivered", now.Add(-10*time.Minute), 0)
	api.addMessage("MMa0000000000000000000000000000007", "+6287777777777", testFrom, "", "inbound", "receiving", now.Add(-time.Minute), 1)
	api.addMessage("SMa0000000000000000000000000000008", "+6288888888888", testFrom, "lama", "inbound", "received", now.Add(-72*time.Hour), 0)
	api.media["MMa0000000000000000000000000000004"] = []map[string]any{{
		"sid": "ME1", "content_type": "image/jpeg", "parent_sid": "MMa0000000000000000000000000000004",
		"uri": "/2010-04-01/Accounts/" + testSID + "/Messages/MMa0000000000000000000000000000004/Media/ME1.json",
	}}

	// One of them did arrive through the webhook.
	form := inbound("SMa0000000000000000000000000000002", "+6282222222222", "SAMBAT dua")
	post(r.tw.ServeWebhook, "/twilio/sms", form.Encode(), twiliotest.Sign(testToken, publicHook, form))

	n, err := r.tw.Reconcile(context.Background())
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if n != 4 {
		t.Errorf("took in %d, want 4", n)
	}
	var got []string
	for _, m := range r.h.messages() {
		got = append(got, m.ExternalID+" "+m.From+" "+m.Text)
	}
	sort.Strings(got)
	want := []string{
		"MMa0000000000000000000000000000004 +6284444444444 foto",
		"SMa0000000000000000000000000000001 +6281111111111 SAMBAT satu",
		"SMa0000000000000000000000000000002 +6282222222222 SAMBAT dua",
		"SMa0000000000000000000000000000003 +6283333333333 CEK 1",
		"SMa0000000000000000000000000000005 whatsapp:+6285555555555 SAMBAT wa",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	for _, m := range r.h.messages() {
		if m.ExternalID == "MMa0000000000000000000000000000004" {
			wantAtt := []intake.Attachment{{ContentType: "image/jpeg",
				URL: api.srv.URL + "/2010-04-01/Accounts/" + testSID + "/Messages/MMa0000000000000000000000000000004/Media/ME1"}}
			if diff := cmp.Diff(wantAtt, m.Attachments); diff != "" {
				t.Errorf("attachments (-want +got):\n%s", diff)
			}
			if !strings.Contains(string(m.Raw), `"sid":"MMa0000000000000000000000000000004"`) || m.Channel != "twilio" {
				t.Errorf("raw %s channel %q, want the API record and twilio", m.Raw, m.Channel)
			}
		}
	}
	checkListQueries(t, api, now)

	// A second run hands nothing new, and does not even ask the engine again.
	calls := r.h.callCount()
	if n, err := r.tw.Reconcile(context.Background()); err != nil || n != 0 {
		t.Errorf("second Reconcile = %d, %v; want 0, nil", n, err)
	}
	if c := r.h.callCount(); c != calls {
		t.Errorf("engine called %d more times on the second run", c-calls)
	}
	if h := r.tw.Health(context.Background()); !h.OK || h.Detail["reconciled"] != int64(4) {
		t.Errorf("health %+v, want OK with 4 reconciled", h)
	}
}

// checkListQueries: our number and its WhatsApp form, since now-Lookback,
// and paging followed (pages of 2).
func checkListQueries(t *testing.T, api *fakeAPI, now time.Time) {
	t.Helper()
	tos := map[string]int{}
	for _, q := range api.listQueries() {
		tos[q.Get("To")]++
		after, err := time.Parse(time.RFC3339, q.Get("DateSent>"))
		if err != nil || !after.Equal(now.Add(-DefaultLookback)) {
			t.Errorf("DateSent> %q, want %v", q.Get("DateSent>"), now.Add(-DefaultLookback))
		}
	}
	if tos[testFrom] < 3 || tos["whatsapp:"+testFrom] != 1 {
		t.Errorf("list calls by To %v, want ≥3 pages for the number and 1 for WhatsApp", tos)
	}
}

func TestReconcile_Failures(t *testing.T) {
	api := newFakeAPI(t)
	api.listErr = http.StatusInternalServerError
	r := newRig(t, api.srv.URL, nil)
	for range downFailures {
		if _, err := r.tw.Reconcile(context.Background()); err == nil {
			t.Fatal("Reconcile: no error from a failing API")
		}
	}
	if h := r.tw.Health(context.Background()); h.OK {
		t.Errorf("health %+v, want not OK", h)
	}

	api.mu.Lock()
	api.listErr = 0
	api.mu.Unlock()
	api.addMessage("SMb0000000000000000000000000000001", "+6281111111111", testFrom, "x", "inbound", "received", r.clock.Now(), 0)
	r.h.before = func(context.Context, intake.Message) error { return context.DeadlineExceeded }
	if _, err := r.tw.Reconcile(context.Background()); err == nil {
		t.Fatal("Reconcile: no error from a failing engine")
	}
	r.h.before = nil
	if n, err := r.tw.Reconcile(context.Background()); err != nil || n != 1 {
		t.Errorf("Reconcile after the engine recovered = %d, %v; want 1, nil", n, err)
	}
	if h := r.tw.Health(context.Background()); !h.OK {
		t.Errorf("health %+v after a good run, want OK", h)
	}
}

func TestStart(t *testing.T) {
	api := newFakeAPI(t)
	api.addMessage("SMc0000000000000000000000000000001", "+6281111111111", testFrom, "SAMBAT", "inbound", "received", time.Now(), 0)
	r := newRig(t, api.srv.URL, func(c *Config) { c.ReconcileInterval = 20 * time.Millisecond })
	r.clock.now = time.Now()
	ctx := context.Background()
	r.tw.Start(ctx)
	r.tw.Start(ctx) // a second Start does nothing
	waitFor(t, "the missed message", func() bool { return len(r.h.messages()) == 1 })
	// Periodic: a message arriving later is picked up by a later run.
	api.addMessage("SMc0000000000000000000000000000002", "+6282222222222", testFrom, "SAMBAT 2", "inbound", "received", time.Now(), 0)
	waitFor(t, "the second missed message", func() bool { return len(r.h.messages()) == 2 })
	if err := r.tw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestClose_CancelsListing(t *testing.T) {
	api := newFakeAPI(t)
	api.block = make(chan struct{})
	defer close(api.block)
	r := newRig(t, api.srv.URL, nil)
	r.tw.Start(context.Background())
	waitFor(t, "a list call", func() bool { return len(api.listQueries()) > 0 })
	done := make(chan struct{})
	go func() {
		_ = r.tw.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second): // well under the 5 s client timeout
		t.Fatal("Close did not interrupt a hanging list call")
	}
}
