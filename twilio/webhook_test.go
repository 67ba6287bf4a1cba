package twilio

import (
	"context"
	"errors"
	"github.com/kotamalang/sambatd/twilio/twiliotest"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/kotamalang/sambatd/intake"
)

// serve runs the channel's two endpoints on a loopback server.
func serve(t *testing.T, tw *Twilio) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc(tw.WebhookPath(), tw.ServeWebhook)
	mux.HandleFunc(tw.StatusPath(), tw.ServeStatus)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func postHTTP(t *testing.T, u, body, sig string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestServeWebhook_Accepts(t *testing.T) {
	r := newRig(t, "", nil)
	srv := serve(t, r.tw)
	form := inbound("SM11111111111111111111111111111111", "whatsapp:+6281234567890", "SAMBAT jalan rusak")
	form.Set("NumMedia", "2")
	form.Set("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
	form.Set("MediaContentType0", "image/jpeg")
	form.Set("MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2")
	form.Set("MediaContentType1", "video/mp4")
	body := form.Encode()

	// The daemon sits behind a proxy: it is reached on loopback but Twilio
	// signed the public URL.
	code, got, hdr := postHTTP(t, srv.URL+"/twilio/sms", body, twiliotest.Sign(testToken, publicHook, form))
	if code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", code, got)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("content type %q, want text/xml", ct)
	}
	if !strings.Contains(got, "<Response/>") {
		t.Errorf("body %q, want <Response/>", got)
	}
	want := []intake.Message{{
		Channel: "twilio", ExternalID: "SM11111111111111111111111111111111",
		From: "whatsapp:+6281234567890", To: testFrom, Text: "SAMBAT jalan rusak",
		Raw: []byte(body), Received: r.clock.Now(),
		Attachments: []intake.Attachment{
			{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", ContentType: "image/jpeg"},
			{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", ContentType: "video/mp4"},
		},
	}}
	if diff := cmp.Diff(want, r.h.messages()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if !r.metrics.has(MetricWebhook + " ok") {
		t.Errorf("metrics %v lack an ok webhook", r.metrics.calls)
	}
	if strings.Contains(r.log.String(), "6281234567890") {
		t.Errorf("log shows an unmasked phone number:\n%s", r.log.String())
	}
}

// TestServeWebhook_NoMessageSid: a signed webhook without a MessageSid is
// authentic, so it is kept and answered like any other, keyed by its body:
// the same request again makes nothing new, as a redelivered MessageSid.
func TestServeWebhook_NoMessageSid(t *testing.T) {
	r := newRig(t, "", nil)
	srv := serve(t, r.tw)
	form := url.Values{"From": {"+6281234567890"}, "To": {testFrom}, "Body": {"SAMBAT lampu mati"}}
	for range 2 {
		code, got, _ := postHTTP(t, srv.URL+"/twilio/sms", form.Encode(), twiliotest.Sign(testToken, publicHook, form))
		if code != http.StatusOK || !strings.Contains(got, "<Response/>") {
			t.Fatalf("status %d (%s), want 200 <Response/>", code, got)
		}
	}
	ms := r.h.messages()
	if len(ms) != 1 || !strings.HasPrefix(ms[0].ExternalID, "body:") || ms[0].Note != "no_message_sid" ||
		ms[0].Text != "SAMBAT lampu mati" || string(ms[0].Raw) != form.Encode() {
		t.Fatalf("handed over %+v, want the message once, under a body: key, noted no_message_sid", ms)
	}
	other := url.Values{"From": {"+6281234567890"}, "To": {testFrom}, "Body": {"SAMBAT sampah"}}
	postHTTP(t, srv.URL+"/twilio/sms", other.Encode(), twiliotest.Sign(testToken, publicHook, other))
	if ms := r.h.messages(); len(ms) != 2 || ms[1].ExternalID == ms[0].ExternalID {
		t.Fatalf("another body must have another key: %+v", ms)
	}
}

func TestServeWebhook_Rejects(t *testing.T) {
	r := newRig(t, "", nil)
	srv := serve(t, r.tw)
	form := inbound("SM22222222222222222222222222222222", "+6281234567890", "SAMBAT lampu mati")
	body := form.Encode()
	good := twiliotest.Sign(testToken, publicHook, form)
	huge := url.Values{"MessageSid": {"SM1"}, "Body": {strings.Repeat("a", MaxBody)}}
	tests := []struct {
		name, body, sig string
		want            int
	}{
		{"MissingSignature", body, "", http.StatusForbidden},
		{"ForgedSignature", body, "bm90IGEgc2lnbmF0dXJl", http.StatusForbidden},
		{"WrongToken", body, twiliotest.Sign("ffffffffffffffffffffffffffffffff", publicHook, form), http.StatusForbidden},
		{"WrongURL", body, twiliotest.Sign(testToken, srv.URL+"/twilio/sms", form), http.StatusForbidden},
		{"TamperedBody", strings.Replace(body, "lampu", "LAMPU", 1), good, http.StatusForbidden},
		{"Malformed", "Body=%zz&MessageSid=SM1", good, http.StatusBadRequest},
		{"RepeatedParameter", body + "&Body=evil", good, http.StatusBadRequest},
		{"Huge", huge.Encode(), twiliotest.Sign(testToken, publicHook, huge), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got, _ := postHTTP(t, srv.URL+"/twilio/sms", tt.body, tt.sig)
			if code != tt.want {
				t.Errorf("status %d (%s), want %d", code, got, tt.want)
			}
		})
	}
	if n := r.h.callCount(); n != 0 {
		t.Errorf("handler called %d times for refused requests, want 0", n)
	}
	if !strings.Contains(r.log.String(), "twilio request refused") {
		t.Errorf("refusals not logged:\n%s", r.log.String())
	}
	for _, m := range []string{"forbidden", "malformed", "too_large"} {
		if !r.metrics.has(MetricWebhook + " " + m) {
			t.Errorf("no %s metric in %v", m, r.metrics.calls)
		}
	}
}

func TestServeWebhook_HugeChunked(t *testing.T) {
	r := newRig(t, "", nil)
	srv := serve(t, r.tw)
	// No Content-Length: the limit must hold while reading.
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "MessageSid=SM1&Body=")
		_, _ = io.WriteString(pw, strings.Repeat("b", 2*MaxBody))
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/twilio/sms", pr)
	req.Header.Set("X-Twilio-Signature", "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestServeWebhook_Method(t *testing.T) {
	r := newRig(t, "", nil)
	rec := httptest.NewRecorder()
	r.tw.ServeWebhook(rec, httptest.NewRequest(http.MethodGet, "/twilio/sms", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("status %d, want 405", rec.Code)
	}
}

func TestServeWebhook_Replay(t *testing.T) {
	r := newRig(t, "", nil)
	srv := serve(t, r.tw)
	form := inbound("SM33333333333333333333333333333333", "+6281234567890", "SAMBAT sampah")
	sig := twiliotest.Sign(testToken, publicHook, form)
	for i := range 3 {
		code, body, _ := postHTTP(t, srv.URL+"/twilio/sms", form.Encode(), sig)
		if code != http.StatusOK || !strings.Contains(body, "<Response/>") {
			t.Fatalf("delivery %d: status %d body %q, want 200 <Response/>", i, code, body)
		}
	}
	if n := len(r.h.messages()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
	if !r.metrics.has(MetricWebhook + " duplicate") {
		t.Errorf("no duplicate metric in %v", r.metrics.calls)
	}
}

func TestServeWebhook_HandlerFails(t *testing.T) {
	r := newRig(t, "", nil)
	srv := serve(t, r.tw)
	fail := true
	var mu sync.Mutex
	r.h.before = func(context.Context, intake.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("disk full")
		}
		return nil
	}
	form := inbound("SM44444444444444444444444444444444", "+6281234567890", "SAMBAT banjir")
	sig := twiliotest.Sign(testToken, publicHook, form)
	code, body, _ := postHTTP(t, srv.URL+"/twilio/sms", form.Encode(), sig)
	if code < 500 || strings.Contains(body, "<Response") {
		t.Fatalf("failing handler: status %d body %q, want 5xx without TwiML", code, body)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if code, _, _ := postHTTP(t, srv.URL+"/twilio/sms", form.Encode(), sig); code != http.StatusOK {
		t.Fatalf("retry: status %d, want 200", code)
	}
	if n := len(r.h.messages()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// headerWatch is a ResponseWriter that tells when the status was written.
type headerWatch struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	written bool
}

func (h *headerWatch) WriteHeader(code int) {
	h.mu.Lock()
	h.written = true
	h.mu.Unlock()
	h.ResponseRecorder.WriteHeader(code)
}

func (h *headerWatch) Write(b []byte) (int, error) {
	h.mu.Lock()
	h.written = true
	h.mu.Unlock()
	return h.ResponseRecorder.Write(b)
}

func (h *headerWatch) wasWritten() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.written
}

func TestServeWebhook_AnswersAfterCommit(t *testing.T) {
	r := newRig(t, "", nil)
	entered, release := make(chan struct{}), make(chan struct{})
	r.h.before = func(context.Context, intake.Message) error {
		close(entered)
		<-release
		return nil
	}
	form := inbound("SM55555555555555555555555555555555", "+6281234567890", "SAMBAT macet")
	req := httptest.NewRequest(http.MethodPost, "/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, publicHook, form))
	w := &headerWatch{ResponseRecorder: httptest.NewRecorder()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.tw.ServeWebhook(w, req)
	}()
	<-entered
	if w.wasWritten() {
		t.Fatal("answered before the handler returned")
	}
	close(release)
	<-done
	if w.Code != http.StatusOK {
		t.Errorf("status %d, want 200", w.Code)
	}
}

func TestServeWebhook_Timely(t *testing.T) {
	r := newRig(t, "", nil)
	r.h.before = func(ctx context.Context, _ intake.Message) error {
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > 15*time.Second {
			return errors.New("no deadline within Twilio's 15 s")
		}
		return nil
	}
	form := inbound("SM66666666666666666666666666666666", "+6281234567890", "SAMBAT x")
	rec := post(r.tw.ServeWebhook, "/twilio/sms", form.Encode(), twiliotest.Sign(testToken, publicHook, form))
	if rec.Code != http.StatusOK {
		t.Errorf("status %d (%s), want 200", rec.Code, rec.Body.String())
	}
}

func TestServeWebhook_Text(t *testing.T) {
	tests := []struct {
		name, body, optOut, want string
	}{
		{"Plain", "SAMBAT jalan", "", "SAMBAT jalan"},
		{"InvalidUTF8", "SAMBAT \xff\xfe jalan", "", "SAMBAT \uFFFD jalan"},
		{"StopKeywordBody", "STOP", "STOP", "STOP"},
		{"StopOtherBody", "berhenti", "STOP", "STOP"},
		{"StopTwilioKeyword", "cancel", "stop", "STOP"},
		{"Start", "yes", "START", "START"},
		{"HelpKeepsBody", "help", "HELP", "help"},
		{"UnknownOptOutType", "halo", "OTHER", "halo"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "", nil)
			form := inbound("SM7777777777777777777777777777777"+string(rune('a'+i)), "+6281234567890", tt.body)
			if tt.optOut != "" {
				form.Set("OptOutType", tt.optOut)
			}
			rec := post(r.tw.ServeWebhook, "/twilio/sms", form.Encode(), twiliotest.Sign(testToken, publicHook, form))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", rec.Code, rec.Body.String())
			}
			msgs := r.h.messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			if msgs[0].Text != tt.want || !utf8.ValidString(msgs[0].Text) {
				t.Errorf("text %q, want %q", msgs[0].Text, tt.want)
			}
			if string(msgs[0].Raw) != form.Encode() {
				t.Errorf("raw %q, want the body verbatim", msgs[0].Raw)
			}
		})
	}
}

func TestServeWebhook_NoConfiguredURL(t *testing.T) {
	r := newRig(t, "", func(c *Config) { c.WebhookURL = "" })
	srv := serve(t, r.tw)
	form := inbound("SM88888888888888888888888888888888", "+6281234567890", "SAMBAT x")
	code, body, _ := postHTTP(t, srv.URL+"/twilio/sms", form.Encode(), twiliotest.Sign(testToken, srv.URL+"/twilio/sms", form))
	if code != http.StatusOK {
		t.Errorf("status %d (%s), want 200 when signed for the URL called", code, body)
	}
}

func TestServeStatus(t *testing.T) {
	sid := "SM99999999999999999999999999999999"
	tests := []struct {
		name, status string
		storeErr     error
		signURL      string
		wantCode     int
		wantCall     string
	}{
		{"Delivered", "delivered", nil, publicState, http.StatusNoContent, "twilio " + sid + " delivered"},
		{"Undelivered", "undelivered", nil, publicState, http.StatusNoContent, "twilio " + sid + " undelivered"},
		{"Failed", "failed", nil, publicState, http.StatusNoContent, "twilio " + sid + " failed"},
		{"ReadIsDelivered", "read", nil, publicState, http.StatusNoContent, "twilio " + sid + " delivered"},
		{"SentIgnored", "sent", nil, publicState, http.StatusNoContent, ""},
		{"UnknownSid", "delivered", intake.ErrNotFound, publicState, http.StatusNoContent, "twilio " + sid + " delivered"},
		{"StoreDown", "delivered", errors.New("locked"), publicState, http.StatusServiceUnavailable, "twilio " + sid + " delivered"},
		{"WrongURL", "delivered", nil, publicHook, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "", nil)
			r.dl.err = tt.storeErr
			form := url.Values{"MessageSid": {sid}, "MessageStatus": {tt.status}, "AccountSid": {testSID},
				"To": {"+6281234567890"}, "ErrorCode": {"30003"}}
			rec := post(r.tw.ServeStatus, "/twilio/status", form.Encode(), twiliotest.Sign(testToken, tt.signURL, form))
			if rec.Code != tt.wantCode {
				t.Errorf("status %d (%s), want %d", rec.Code, rec.Body.String(), tt.wantCode)
			}
			var want []string
			if tt.wantCall != "" {
				want = []string{tt.wantCall}
			}
			if diff := cmp.Diff(want, r.dl.calls); diff != "" {
				t.Errorf("MarkDelivery calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	base := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name                 string
		edit                 func(*Config)
		wantErr              bool
		wantHook, wantStatus string
		wantStatusURL        string
	}{
		{"Defaults", func(*Config) {}, false, "/twilio/sms", "/twilio/status", ""},
		{"FromWebhookURL", func(c *Config) { c.WebhookURL = "https://x.id/hooks/tw?k=1" }, false,
			"/hooks/tw", "/twilio/status", "https://x.id/twilio/status"},
		{"StatusURL", func(c *Config) {
			c.WebhookURL = "https://x.id/a"
			c.StatusCallbackURL = "https://y.id/b/status"
		}, false, "/a", "/b/status", "https://y.id/b/status"},
		{"ServiceOnly", func(c *Config) { c.From = ""; c.MessagingServiceSID = "MG1" }, false, "/twilio/sms", "/twilio/status", ""},
		{"NoSID", func(c *Config) { c.AccountSID = "" }, true, "", "", ""},
		{"NoToken", func(c *Config) { c.AuthToken = "" }, true, "", "", ""},
		{"TokenWithSpace", func(c *Config) { c.AuthToken = "abc def" }, true, "", "", ""},
		{"NoSender", func(c *Config) { c.From = "" }, true, "", "", ""},
		{"RelativeWebhook", func(c *Config) { c.WebhookURL = "/twilio/sms" }, true, "", "", ""},
		{"BadAPI", func(c *Config) { c.APIURL = "ftp://x" }, true, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			tw, err := New(cfg, Deps{Handler: newHandler()})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tw.WebhookPath() != tt.wantHook || tw.StatusPath() != tt.wantStatus || tw.statusURL != tt.wantStatusURL {
				t.Errorf("paths %q %q %q, want %q %q %q", tw.WebhookPath(), tw.StatusPath(), tw.statusURL,
					tt.wantHook, tt.wantStatus, tt.wantStatusURL)
			}
		})
	}
	if _, err := New(base, Deps{}); err == nil {
		t.Error("New without a handler: no error")
	}
}
