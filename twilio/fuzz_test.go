package twilio

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kotamalang/sambatd/twilio/twiliotest"
)

// FuzzWebhook sends arbitrary bodies, signed correctly (so the fuzzer gets
// past the signature to the parsing) or not. It must never panic, answer
// only 200/400/403/413, and store only what it was given, as valid text.
func FuzzWebhook(f *testing.F) {
	seeds := []string{
		inbound("SM00000000000000000000000000000001", "+6281234567890", "SAMBAT jalan").Encode(),
		"MessageSid=SM1&Body=%FF%FE&From=whatsapp%3A%2B62812",
		"MessageSid=SM1&NumMedia=99&MediaUrl0=x&MediaUrl98=y",
		"MessageSid=SM1&OptOutType=STOP&Body=berhenti",
		"Body=%zz",
		"MessageSid=SM1&MessageSid=SM2",
		"Body=SAMBAT+lampu&From=%2B6281234567890", // no MessageSid: kept under a body key
		"MessageSid=" + strings.Repeat("S", 65) + "&Body=x",
		"",
		";;;&&&===",
	}
	for _, s := range seeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	r := newRig(f, "", nil)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		sig := "bogus"
		if form, err := url.ParseQuery(string(body)); err == nil && signed {
			sig = twiliotest.Sign(testToken, publicHook, form)
		}
		before := r.h.stored()
		rec := post(r.tw.ServeWebhook, "/twilio/sms", string(body), sig)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		msgs, after := r.h.since(before)
		if rec.Code != http.StatusOK {
			if after != before {
				t.Fatalf("refused request (%d) stored a message", rec.Code)
			}
			return
		}
		if !signed {
			t.Fatalf("unsigned body %q accepted", body)
		}
		for _, m := range msgs {
			if !bytes.Equal(m.Raw, body) {
				t.Errorf("raw %q, want %q", m.Raw, body)
			}
			if !utf8.ValidString(m.Text) || !utf8.ValidString(m.From) {
				t.Errorf("invalid UTF-8 passed on: %q %q", m.Text, m.From)
			}
		}
	})
}
