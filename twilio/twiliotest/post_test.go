package twiliotest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConn posts signed requests over one Conn to a server that checks
// each signature, closes the connection after every third answer and
// answers the sixth with a long body: every request arrives once, intact,
// and each answer is read whole.
func TestConn(t *testing.T) {
	const token, public = "0123456789abcdef0123456789abcdef", "https://sambat.example.go.id/twilio/sms"
	var mu sync.Mutex
	var got []string
	conns := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.Header.Get("X-Twilio-Signature") != Sign(token, public, r.PostForm) || r.URL.Path != "/twilio/sms" {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		mu.Lock()
		got = append(got, r.PostForm.Get("MessageSid"))
		n := len(got)
		conns[r.RemoteAddr] = true
		mu.Unlock()
		if n%3 == 0 {
			w.Header().Set("Connection", "close")
		}
		if n == 6 {
			io.WriteString(w, strings.Repeat("x", 10000))
		}
		io.WriteString(w, "<Response/>")
	}))
	defer srv.Close()

	c := NewConn(strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	defer c.Close()
	sids := []string{"SM1", "SM2", "SM3", "SM4", "SM5", "SM6", "SM7", "SM8"}
	for i, sid := range sids {
		req, err := SignedRequest(srv.URL+"/twilio/sms", token, public, Inbound(sid, "+6281234567890", "+14155550100", "SAMBAT uji"))
		if err != nil {
			t.Fatal(err)
		}
		code, body, err := c.Post(req)
		if err != nil || code != http.StatusOK {
			t.Fatalf("post %d: %d %v", i, code, err)
		}
		if i == 5 {
			if len(body) != 4096 {
				t.Errorf("long answer: %d bytes, want the first 4096", len(body))
			}
		} else if string(body) != "<Response/>" {
			t.Errorf("post %d: body %q", i, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != strings.Join(sids, ",") {
		t.Errorf("server got %v, want %v", got, sids)
	}
	if len(conns) != 3 {
		t.Errorf("%d connections, want 3 (a new one after each close)", len(conns))
	}
}

// TestConn_Redial: after the server drops the connection, Post reports
// the error and the next Post dials again.
func TestConn_Redial(t *testing.T) {
	drop := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drop {
			drop = false
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, "<Response/>")
	}))
	defer srv.Close()
	req, err := RawRequest(srv.URL+"/x", "text/plain", []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	defer c.Close()
	if _, _, err := c.Post(req); err == nil {
		t.Fatal("post on a dropped connection: no error")
	}
	if code, body, err := c.Post(req); err != nil || code != 200 || string(body) != "<Response/>" {
		t.Fatalf("post after redial: %d %q %v", code, body, err)
	}
}

func TestRawRequest_NotHTTP(t *testing.T) {
	for _, target := range []string{"https://example.org/x", "/x", "::"} {
		if _, err := RawRequest(target, "text/plain", nil); err == nil {
			t.Errorf("RawRequest(%q): no error", target)
		}
	}
}
