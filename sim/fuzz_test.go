package sim_test

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzPost feeds arbitrary bodies to the simulator API: every answer is a
// 202 or a 4xx with a reason, never a 5xx or a crash.
func FuzzPost(f *testing.F) {
	for _, s := range []string{
		`{"from":"+6281234567890","text":"SAMBAT jalan rusak"}`,
		`{"from":"TELKOMSEL","text":"promo","id":"x"}`,
		`{"from":"0812","text":"\u0000\ud800"}`,
		`{"from":1}`, `[]`, `{`, ``, `{"from":"+62812345678901234567890","text":"'; DROP TABLE tickets;--"}`,
	} {
		f.Add(s)
	}
	srv, _, _ := newSim(f)
	f.Fuzz(func(t *testing.T, body string) {
		resp, err := http.Post(srv.URL+"/api/v1/sim/messages", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 && resp.StatusCode/100 != 4 {
			t.Fatalf("body %q: status %d", body, resp.StatusCode)
		}
	})
}
