package ussd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/ussd"
)

// fakeHandler is an intake.USSDHandler with a function field.
type fakeHandler struct {
	fn func(ctx context.Context, r intake.USSDRequest) (intake.USSDResponse, error)
}

func (f fakeHandler) USSD(ctx context.Context, r intake.USSDRequest) (intake.USSDResponse, error) {
	return f.fn(ctx, r)
}

// echo answers CON with the request's text, END when the text is "end".
func echo() fakeHandler {
	return fakeHandler{fn: func(_ context.Context, r intake.USSDRequest) (intake.USSDResponse, error) {
		return intake.USSDResponse{Text: "got " + r.Text, End: r.Text == "end"}, nil
	}}
}

// serve starts the endpoint on a loopback listener.
func serve(t *testing.T, cfg ussd.Config, h intake.USSDHandler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(ussd.New(cfg, h, nil))
	t.Cleanup(srv.Close)
	return srv
}

// form builds a gateway request body.
func form(session, phone, text string) url.Values {
	v := url.Values{}
	if session != "" {
		v.Set("sessionId", session)
	}
	if phone != "" {
		v.Set("phoneNumber", phone)
	}
	v.Set("serviceCode", "*123*7#")
	v.Set("networkCode", "51010")
	v.Set("text", text)
	return v
}

// post sends a form and returns status, content type and body.
func post(t *testing.T, target string, v url.Values, header map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, val := range header {
		req.Header.Set(k, val)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestHandler_Answer(t *testing.T) {
	var got intake.USSDRequest
	h := fakeHandler{fn: func(_ context.Context, r intake.USSDRequest) (intake.USSDResponse, error) {
		got = r
		return intake.USSDResponse{Text: "Menu\n1 Baru", End: r.Text == "3"}, nil
	}}
	srv := serve(t, ussd.Config{}, h)
	tests := []struct {
		name, text, want string
	}{
		{"Continue", "", "CON Menu\n1 Baru"},
		{"End", "3", "END Menu\n1 Baru"},
		{"Inputs", "1*2*Jl Ijen", "CON Menu\n1 Baru"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form("ATUid_1", "+6281234567890", tt.text)
			status, ctype, body := post(t, srv.URL+"/ussd", f, nil)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200 (%s)", status, body)
			}
			if ctype != "text/plain; charset=utf-8" {
				t.Errorf("content type %q, want text/plain; charset=utf-8", ctype)
			}
			if body != tt.want {
				t.Errorf("got %q, want %q", body, tt.want)
			}
			want := intake.USSDRequest{SessionID: "ATUid_1", ServiceCode: "*123*7#",
				Phone: "+6281234567890", NetworkCode: "51010", Text: tt.text, Raw: f.Encode()}
			if got != want {
				t.Errorf("handler got %+v, want %+v", got, want)
			}
		})
	}
}

func TestHandler_Refusals(t *testing.T) {
	srv := serve(t, ussd.Config{Path: "/gw/ussd"}, echo())
	u := srv.URL + "/gw/ussd"
	big := form("s1", "+6281234567890", strings.Repeat("1*", 5000))
	tests := []struct {
		name   string
		method string
		target string
		body   string
		status int
		reason string
	}{
		{"Get", http.MethodGet, u, "", http.StatusMethodNotAllowed, "method"},
		{"WrongPath", http.MethodPost, srv.URL + "/ussd", form("s1", "0812", "").Encode(), http.StatusNotFound, "not found"},
		{"NoSession", http.MethodPost, u, form("", "+6281234567890", "").Encode(), http.StatusBadRequest, "sessionId"},
		{"NoPhone", http.MethodPost, u, form("s1", "", "").Encode(), http.StatusBadRequest, "phoneNumber"},
		{"TooLarge", http.MethodPost, u, big.Encode(), http.StatusRequestEntityTooLarge, "too large"},
		{"BadForm", http.MethodPost, u, "sessionId=%zz", http.StatusBadRequest, "bad form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			status, ctype, body := do(t, req)
			if status != tt.status {
				t.Errorf("status %d, want %d (%s)", status, tt.status, body)
			}
			if !strings.HasPrefix(ctype, "text/plain") {
				t.Errorf("content type %q, want text/plain", ctype)
			}
			if !strings.Contains(body, tt.reason) {
				t.Errorf("body %q does not name %q", body, tt.reason)
			}
		})
	}
}

// TestHandler_TooLargeChunked sends a body without Content-Length, so only
// the reader's limit can catch it.
func TestHandler_TooLargeChunked(t *testing.T) {
	srv := serve(t, ussd.Config{}, echo())
	body := form("s1", "+6281234567890", strings.Repeat("9", 9000)).Encode()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/ussd", io.NopCloser(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, _, got := do(t, req); status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413 (%s)", status, got)
	}
}

func TestHandler_Secret(t *testing.T) {
	srv := serve(t, ussd.Config{Secret: "s3cret"}, echo())
	withField := func(secret string) url.Values {
		v := form("s1", "+6281234567890", "")
		v.Set("secret", secret)
		return v
	}
	tests := []struct {
		name   string
		v      url.Values
		header map[string]string
		status int
	}{
		{"Header", form("s1", "+6281234567890", ""), map[string]string{"X-USSD-Secret": "s3cret"}, http.StatusOK},
		{"Field", withField("s3cret"), nil, http.StatusOK},
		{"Missing", form("s1", "+6281234567890", ""), nil, http.StatusForbidden},
		{"WrongHeader", form("s1", "+6281234567890", ""), map[string]string{"X-USSD-Secret": "s3cre"}, http.StatusForbidden},
		{"WrongField", withField("S3CRET"), nil, http.StatusForbidden},
		{"Prefix", withField("s3cret!"), nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := post(t, srv.URL+"/ussd", tt.v, tt.header)
			if status != tt.status {
				t.Errorf("status %d, want %d (%s)", status, tt.status, body)
			}
			if status == http.StatusOK && body != "CON got " {
				t.Errorf("got %q, want %q", body, "CON got ")
			}
		})
	}
}

func TestHandler_Allow(t *testing.T) {
	tests := []struct {
		name   string
		allow  []string
		status int
	}{
		{"None", nil, http.StatusOK},
		{"IP", []string{"127.0.0.1"}, http.StatusOK},
		{"CIDR", []string{"10.0.0.0/8", "127.0.0.0/8"}, http.StatusOK},
		{"Other", []string{"10.1.2.3", "192.168.0.0/16"}, http.StatusForbidden},
		{"OnlyInvalid", []string{"not-an-ip"}, http.StatusForbidden},
		{"IPv6Only", []string{"::1"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, ussd.Config{Allow: tt.allow}, echo())
			status, _, body := post(t, srv.URL+"/ussd", form("s1", "+6281234567890", "1"), nil)
			if status != tt.status {
				t.Errorf("status %d, want %d (%s)", status, tt.status, body)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ussd.Config
		ok   bool
	}{
		{"Empty", ussd.Config{}, true},
		{"Good", ussd.Config{Path: "/x", Allow: []string{"1.2.3.4", "10.0.0.0/8", "2001:db8::/32"}}, true},
		{"BadPath", ussd.Config{Path: "ussd"}, false},
		{"BadIP", ussd.Config{Allow: []string{"1.2.3"}}, false},
		{"BadCIDR", ussd.Config{Allow: []string{"10.0.0.0/33"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestHandler_Error(t *testing.T) {
	h := fakeHandler{fn: func(context.Context, intake.USSDRequest) (intake.USSDResponse, error) {
		return intake.USSDResponse{Text: "ignored"}, errors.New("store down")
	}}
	srv := serve(t, ussd.Config{}, h)
	status, _, body := post(t, srv.URL+"/ussd", form("s1", "+6281234567890", "1"), nil)
	if status != http.StatusOK || body != ussd.FailText {
		t.Errorf("got %d %q, want 200 %q", status, body, ussd.FailText)
	}
}

func TestHandler_Deadline(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name string
		fn   func(ctx context.Context, r intake.USSDRequest) (intake.USSDResponse, error)
	}{
		{"HonoursContext", func(ctx context.Context, _ intake.USSDRequest) (intake.USSDResponse, error) {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > ussd.Deadline {
				return intake.USSDResponse{Text: "no deadline"}, nil
			}
			<-ctx.Done()
			return intake.USSDResponse{}, ctx.Err()
		}},
		{"IgnoresContext", func(context.Context, intake.USSDRequest) (intake.USSDResponse, error) {
			<-release
			return intake.USSDResponse{Text: "late"}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, ussd.Config{}, fakeHandler{fn: tt.fn})
			start := time.Now()
			status, _, body := post(t, srv.URL+"/ussd", form("s1", "+6281234567890", "1"), nil)
			took := time.Since(start)
			if status != http.StatusOK || body != ussd.FailText {
				t.Errorf("got %d %q, want 200 %q", status, body, ussd.FailText)
			}
			if took > 2*time.Second {
				t.Errorf("answered after %v, want about %v", took, ussd.Deadline)
			}
		})
	}
}

// failTexter is a handler that also supplies the configured failure screen.
type failTexter struct {
	fakeHandler
	text string
}

func (f failTexter) USSDFailText() string { return f.text }

// TestHandler_ConfiguredFailText: when the dialog fails or is late, a
// handler that supplies the configured failure text gets it shown.
func TestHandler_ConfiguredFailText(t *testing.T) {
	failed := func(context.Context, intake.USSDRequest) (intake.USSDResponse, error) {
		return intake.USSDResponse{}, errors.New("store down")
	}
	late := func(ctx context.Context, _ intake.USSDRequest) (intake.USSDResponse, error) {
		<-ctx.Done()
		return intake.USSDResponse{}, ctx.Err()
	}
	long := strings.Repeat("gangguan ", 30)
	tests := []struct {
		name, text, want string
		fn               func(context.Context, intake.USSDRequest) (intake.USSDResponse, error)
	}{
		{"Error", "Sistem gangguan.", "END Sistem gangguan.", failed},
		{"Deadline", "Sistem gangguan.", "END Sistem gangguan.", late},
		{"Empty", "", ussd.FailText, failed},
		{"Long", long, string([]rune("END " + long)[:ussd.MaxScreen]), failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, ussd.Config{}, failTexter{fakeHandler{fn: tt.fn}, tt.text})
			status, _, body := post(t, srv.URL+"/ussd", form("s1", "+6281234567890", "1"), nil)
			if status != http.StatusOK || body != tt.want {
				t.Errorf("got %d %q, want 200 %q", status, body, tt.want)
			}
		})
	}
}

// TestHandler_Raw: the handler gets the form body as the gateway sent it,
// except that a secret sent as a form field is never passed on.
func TestHandler_Raw(t *testing.T) {
	body := "text=1%2A2&phoneNumber=%2B6281234567890&sessionId=s1&serviceCode=%2A123%2A7%23&networkCode=51010&extra=x+y"
	tests := []struct {
		name, secret, body, want string
		header                   map[string]string
	}{
		{"Verbatim", "", body, body, nil},
		{"SecretHeader", "rahasia", body, body, map[string]string{ussd.SecretHeader: "rahasia"}},
		{"SecretField", "rahasia", body + "&secret=rahasia", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			h := fakeHandler{fn: func(_ context.Context, r intake.USSDRequest) (intake.USSDResponse, error) {
				got <- r.Raw
				return intake.USSDResponse{Text: "ok", End: true}, nil
			}}
			srv := serve(t, ussd.Config{Secret: tt.secret}, h)
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/ussd", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if status, _, b := do(t, req); status != http.StatusOK {
				t.Fatalf("got %d %q, want 200", status, b)
			}
			raw := <-got
			switch {
			case tt.want != "" && raw != tt.want:
				t.Errorf("raw: got %q, want %q", raw, tt.want)
			case tt.want == "":
				v, err := url.ParseQuery(raw)
				if err != nil || v.Has("secret") || strings.Contains(raw, "rahasia") || v.Get("sessionId") != "s1" || v.Get("extra") != "x y" {
					t.Errorf("raw: got %q, want the form without its secret", raw)
				}
			}
		})
	}
}

func TestHandler_LongScreenTruncated(t *testing.T) {
	h := fakeHandler{fn: func(context.Context, intake.USSDRequest) (intake.USSDResponse, error) {
		return intake.USSDResponse{Text: strings.Repeat("é", 300), End: true}, nil
	}}
	srv := serve(t, ussd.Config{}, h)
	_, _, body := post(t, srv.URL+"/ussd", form("s1", "+6281234567890", ""), nil)
	if n := len([]rune(body)); n != ussd.MaxScreen || !strings.HasPrefix(body, "END é") {
		t.Errorf("got %d runes starting %q, want %d starting \"END é\"", n, body[:8], ussd.MaxScreen)
	}
}

// TestHandler_Health: the endpoint is an inbound channel, up while it can
// take sessions: not when its allow-list refuses every gateway, nor while
// the dialog behind it keeps failing; refused requests don't count.
func TestHandler_Health(t *testing.T) {
	var failing atomic.Bool
	h := fakeHandler{fn: func(_ context.Context, r intake.USSDRequest) (intake.USSDResponse, error) {
		if failing.Load() {
			return intake.USSDResponse{}, errors.New("store down")
		}
		return intake.USSDResponse{Text: "menu"}, nil
	}}
	u := ussd.New(ussd.Config{}, h, nil)
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	check := func(when string, wantOK bool, wantErr string) {
		t.Helper()
		got := u.Health(context.Background())
		if got.Name != intake.ChannelUSSD || !got.Inbound || got.Checked.IsZero() {
			t.Errorf("%s: got %+v, want an inbound part named %q", when, got, intake.ChannelUSSD)
		}
		if got.OK != wantOK || !strings.Contains(got.Error, wantErr) || (wantErr == "") != (got.Error == "") {
			t.Errorf("%s: got ok=%v error %q, want ok=%v error with %q", when, got.OK, got.Error, wantOK, wantErr)
		}
	}
	check("new", true, "")
	for range 5 {
		post(t, srv.URL+"/ussd", form("", "+6281234567890", ""), nil) // refused: no sessionId
	}
	check("after refusals", true, "")
	failing.Store(true)
	for i := range 3 {
		check(fmt.Sprintf("after %d failures", i), true, "")
		post(t, srv.URL+"/ussd", form("s1", "+6281234567890", ""), nil)
	}
	check("after 3 failures in a row", false, "store down")
	failing.Store(false)
	post(t, srv.URL+"/ussd", form("s2", "+6281234567890", ""), nil)
	check("after an answer", true, "")

	refuseAll := ussd.New(ussd.Config{Allow: []string{"not-an-ip"}}, h, nil)
	if got := refuseAll.Health(context.Background()); got.OK || got.Error == "" {
		t.Errorf("allow-list with no valid entry: got %+v, want not ok with a reason", got)
	}
}
