package central

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kotamalang/sambatd/intake"
)

// FuzzDecodeAnswer feeds arbitrary answers of a central store to the
// decoders: they must never panic, and ids must come out as text.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`[{"service_request_id":293944,"service_notice":"ok"}]`,
		`[{"token":"abc","service_request_id":null}]`,
		`{"service_requests_updates":[{"update_id":"9","service_request_id":1.5e3,"status":"FIXED"}]}`,
		`[{"code":403,"description":"Invalid api_key"}]`,
		`{"code":"E1","description":"x"}`,
		"<html>502 Bad Gateway</html>\n",
		`[{"service_request_id":true}]`,
		"\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ans []postAnswer
		_ = json.Unmarshal(data, &ans)
		var rs []Request
		_ = json.Unmarshal(data, &rs)
		if us, err := decodeUpdates(data); err == nil {
			for _, u := range us {
				_ = parseTime(u.UpdatedDatetime)
			}
		}
		e := decodeError(http.StatusBadRequest, data)
		if !e.Permanent() || !utf8.ValidString(e.Error()) || len(e.Description) > 300 {
			t.Errorf("decodeError(%q) = %#v", data, e)
		}
	})
}

// fakeEngine answers ApplyCentral from a function; the rest is unused here.
type fakeEngine struct {
	Engine
	apply func(intake.CentralUpdate) (intake.CentralResult, error)
}

func (f fakeEngine) ApplyCentral(_ context.Context, u intake.CentralUpdate) (intake.CentralResult, error) {
	return f.apply(u)
}

// FuzzServeUpdates posts arbitrary bodies to the inbound endpoint: never a
// panic or a 5xx, and only an authenticated, complete update reaches the
// engine.
func FuzzServeUpdates(f *testing.F) {
	for _, s := range []string{
		"api_key=k&update_id=1&service_request_id=2&status=FIXED&description=ok",
		"api_key=k&update_id=1&service_request_id=2&status=in+progress&updated_datetime=2026-12-05T09:30:00Z",
		"api_key=wrong&update_id=1&service_request_id=2&status=FIXED",
		"api_key=k&update_id=&status=FIXED",
		"api_key=k&update_id=1&service_request_id=2&status=FIXED&updated_datetime=%ff",
		"%zz&&==;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		reached := false
		c, err := New(Config{URL: "http://central.invalid", InboundAPIKey: "k"}, Deps{
			Engine: fakeEngine{apply: func(u intake.CentralUpdate) (intake.CentralResult, error) {
				reached = true
				if u.UpdateID == "" || u.ServiceRequestID == "" || !intake.KnownCentralStatus(u.Status) {
					t.Errorf("incomplete update reached the engine: %+v", u)
				}
				return intake.CentralResult{Outcome: intake.CentralApplied}, nil
			}},
			Jobs: nilJobs{}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, InboundPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		c.ServeUpdates(rec, req)
		if rec.Code >= 500 || (rec.Code == http.StatusOK) != reached {
			t.Errorf("body %q: status %d, reached engine %v", body, rec.Code, reached)
		}
	})
}

// nilJobs is a JobStore the inbound handler never uses.
type nilJobs struct{ intake.JobStore }
