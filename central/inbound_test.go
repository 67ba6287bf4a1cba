package central_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/central"
	"github.com/kotamalang/sambatd/intake"
)

func TestCentral_ServeUpdates(t *testing.T) {
	r := newRig(t)
	n := r.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	r.start()
	r.waitSynced(n)
	id := r.ticket(n).CentralID
	mux := http.NewServeMux()
	r.c.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	form := func(kv ...string) string {
		v := url.Values{"api_key": {"k-inbound"}, "update_id": {"u-77"}, "service_request_id": {id},
			"status": {"FIXED"}, "description": {"sudah ditambal"}, "updated_datetime": {"2026-12-05T09:30:00+07:00"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v.Encode()
	}
	tests := []struct {
		name   string
		body   string
		status int
		desc   string // in the Open311 error's description
		sms    int    // SMS to the resident so far
	}{
		{"WrongKey", form("api_key", "nope"), http.StatusForbidden, "invalid api_key", 0},
		{"NoKey", form("api_key", ""), http.StatusForbidden, "invalid api_key", 0},
		{"MissingUpdateID", form("update_id", ""), http.StatusBadRequest, "missing update_id", 0},
		{"MissingRequest", form("service_request_id", ""), http.StatusBadRequest, "missing service_request_id", 0},
		{"UnknownStatus", form("status", "Received"), http.StatusBadRequest, "unknown status", 0},
		{"BadTime", form("updated_datetime", "kemarin"), http.StatusBadRequest, "updated_datetime", 0},
		{"UnknownTicket", form("service_request_id", "1"), http.StatusNotFound, "unknown service_request_id", 0},
		{"TooLarge", form("description", strings.Repeat("x", 70<<10)), http.StatusRequestEntityTooLarge, "too large", 0},
		{"Accepted", form(), http.StatusOK, "", 1},
		{"Duplicate", form("status", "IN_PROGRESS"), http.StatusOK, "", 1},
		{"Agency", form("update_id", "u-78", "status", "INTERNAL_REFERRAL", "agency", "DLH"), http.StatusOK, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+central.InboundPath, "application/x-www-form-urlencoded", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status: got %d, want %d (%s)", resp.StatusCode, tt.status, data)
			}
			var body []map[string]any
			if err := json.Unmarshal(data, &body); err != nil || len(body) != 1 {
				t.Fatalf("body %s is not an Open311 list: %v", data, err)
			}
			if tt.desc != "" {
				desc, _ := body[0]["description"].(string)
				if code, ok := body[0]["code"].(float64); !ok || int(code) != tt.status || !strings.Contains(desc, tt.desc) {
					t.Errorf("error body %s, want code %d and %q", data, tt.status, tt.desc)
				}
			}
			if got := len(r.sms(warga)); got != tt.sms {
				t.Errorf("SMS to the resident: got %d, want %d", got, tt.sms)
			}
		})
	}
	// The duplicate changed nothing; the referral is not allowed after selesai.
	if tk := r.ticket(n); tk.Status != intake.Selesai || tk.OPD != "DPUPRPKP" {
		t.Errorf("ticket after inbound updates: %s %s, want selesai at DPUPRPKP", tk.Status, tk.OPD)
	}
}

func TestCentral_ServeUpdates_NoKeyConfigured(t *testing.T) {
	r := newRig(t, func(c *central.Config, _ *intake.Settings) { c.InboundAPIKey = "" })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, central.InboundPath, strings.NewReader("api_key=&update_id=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.c.ServeUpdates(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("without central.inbound_api_key: got %d, want 403", rec.Code)
	}
}
