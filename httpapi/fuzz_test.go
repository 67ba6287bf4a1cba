package httpapi_test

import (
	"testing"

	"github.com/kotamalang/sambatd/httpapi"
)

// FuzzSetStatus feeds arbitrary bodies to the status endpoint: the answer
// is 200, or a 4xx with a reason, never a 5xx or a crash.
func FuzzSetStatus(f *testing.F) {
	for _, s := range []string{`{"status":"diproses","note":"ok"}`, `{"status":"selesai"}`, `{"status":"beres"}`,
		`{"status":"diterima"}`, `{`, ``, `{"status":"ditolak","note":"\u0000\ud800 😡"}`, `{"status":null}`} {
		f.Add(s)
	}
	e := newEnv(f, httpapi.Auth{Open: true})
	f.Fuzz(func(t *testing.T, body string) {
		code, v := e.do(t, "POST", "/api/v1/tickets/"+e.ticket+"/status", "", body)
		if code != 200 && (code/100 != 4 || v["error"] == nil) {
			t.Fatalf("body %q: got %d %v", body, code, v)
		}
	})
}
