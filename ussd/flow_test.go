package ussd_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/ussd"
)

// replayHandler stands in for the engine: it replays the dialog with
// intake.ReplayUSSD, files at most one ticket per session and answers a
// repeated request with the stored answer, as the engine promises.
type replayHandler struct {
	env intake.DialogEnv

	mu      sync.Mutex
	answers map[string]intake.USSDResponse // by session and text
	filed   map[string]string              // session → ticket
	seq     int64
}

func newReplayHandler(t testing.TB) *replayHandler {
	t.Helper()
	texts, err := intake.NewTexts(nil)
	if err != nil {
		t.Fatalf("NewTexts: %v", err)
	}
	env := intake.DialogEnv{Categories: intake.DefaultCategories(), Limit: intake.LimitUSSD, Texts: texts}
	return &replayHandler{env: env, answers: map[string]intake.USSDResponse{}, filed: map[string]string{}}
}

func (h *replayHandler) USSD(_ context.Context, r intake.USSDRequest) (intake.USSDResponse, error) {
	key := r.SessionID + "\x00" + r.Text
	h.mu.Lock()
	defer h.mu.Unlock()
	if a, ok := h.answers[key]; ok {
		return a, nil
	}
	env := h.env
	env.Volunteer = r.Phone == "+6281111111111"
	out := intake.ReplayUSSD(env, r.Text)
	resp := intake.USSDResponse{Text: out.Text, End: out.End}
	if out.Action == intake.ActionFile {
		number, ok := h.filed[r.SessionID]
		if !ok {
			h.seq++
			number = intake.TicketNumber("", h.seq)
			h.filed[r.SessionID] = number
		}
		resp.Text = "Sambat diterima. No tiket " + number
	}
	h.answers[key] = resp
	return resp, nil
}

func (h *replayHandler) tickets() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.filed))
	for k, v := range h.filed {
		out[k] = v
	}
	return out
}

// session walks one USSD session the way a gateway does: each request
// carries every input so far. It returns the bodies of the answers.
func session(t *testing.T, target, id, phone string, inputs []string) ([]string, error) {
	var bodies []string
	for i := 0; i <= len(inputs); i++ {
		status, _, body := post(t, target, form(id, phone, strings.Join(inputs[:i], "*")), nil)
		if status != http.StatusOK {
			return bodies, fmt.Errorf("session %s step %d: status %d %q", id, i, status, body)
		}
		if n := utf8.RuneCountInString(body); n > ussd.MaxScreen {
			return bodies, fmt.Errorf("session %s step %d: %d characters", id, i, n)
		}
		last := i == len(inputs)
		if want := map[bool]string{false: "CON ", true: "END "}[last]; !strings.HasPrefix(body, want) {
			return bodies, fmt.Errorf("session %s step %d: got %q, want prefix %q", id, i, body, want)
		}
		bodies = append(bodies, body)
	}
	return bodies, nil
}

func TestHandler_DialogFlow(t *testing.T) {
	h := newReplayHandler(t)
	srv := serve(t, ussd.Config{}, h)
	inputs := []string{"1", "1", "Jl Ijen 5", "jalan berlubang besar", "1"}
	bodies, err := session(t, srv.URL+"/ussd", "ATUid_flow", "+6281234567890", inputs)
	if err != nil {
		t.Fatal(err)
	}
	wantIn := []string{"1 Sambat baru", "Pilih kategori", "lokasinya", "isi sambat", "Kirim sambat?", "No tiket"}
	for i, w := range wantIn {
		if !strings.Contains(bodies[i], w) {
			t.Errorf("screen %d: got %q, want it to contain %q", i, bodies[i], w)
		}
	}
	// The gateway repeats the last request: same answer, no second ticket.
	_, _, again := post(t, srv.URL+"/ussd", form("ATUid_flow", "+6281234567890", strings.Join(inputs, "*")), nil)
	if again != bodies[len(bodies)-1] {
		t.Errorf("repeat: got %q, want %q", again, bodies[len(bodies)-1])
	}
	if got := h.tickets(); len(got) != 1 {
		t.Errorf("got %d tickets, want 1: %v", len(got), got)
	}
}

func TestHandler_ConcurrentSessions(t *testing.T) {
	h := newReplayHandler(t)
	srv := serve(t, ussd.Config{}, h)
	paths := [][]string{
		{"1", "2", "Jl Ijen", "pohon tumbang", "1"},
		{"2", "4821303"},
		{"1", "sampah", "-", "sampah numpuk", "2", "3", "-", "sampah numpuk", "1"},
		{"4", "0812-2222-3333", "Bu Sri", "1", "-", "jalan rusak", "1"},
		{"3"},
		{"1", "9", "x", "0", "00", "1", "1", "-", "aspal", "3"},
	}
	const sessions = 24
	errs := make(chan error, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			phone := "+628123456" + fmt.Sprintf("%04d", i)
			if i%len(paths) == 3 {
				phone = "+6281111111111" // the volunteer
			}
			_, err := session(t, srv.URL+"/ussd", fmt.Sprintf("s%02d", i), phone, paths[i%len(paths)])
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got := h.tickets()
	// Paths 0, 2 and 3 file a complaint: four sessions each.
	if want := 3 * sessions / len(paths); len(got) != want {
		t.Errorf("got %d tickets, want %d", len(got), want)
	}
	seen := map[string]bool{}
	for s, n := range got {
		if seen[n] {
			t.Errorf("ticket %s filed twice (session %s)", n, s)
		}
		seen[n] = true
	}
}

func FuzzHandler(f *testing.F) {
	f.Add("sessionId=s1&phoneNumber=%2B6281234567890&text=1*1*Jl+Ijen*rusak*1")
	f.Add("sessionId=s1&phoneNumber=0812&text=")
	f.Add("sessionId=&phoneNumber=&text=%ff%00")
	f.Add("text=" + strings.Repeat("1*", 100))
	h := ussd.New(ussd.Config{}, newReplayHandler(f), nil)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/ussd", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Body.String()
		switch rec.Code {
		case http.StatusOK:
			if !strings.HasPrefix(got, "CON ") && !strings.HasPrefix(got, "END ") {
				t.Fatalf("200 with body %q", got)
			}
			if utf8.RuneCountInString(got) > ussd.MaxScreen {
				t.Fatalf("screen of %d characters", utf8.RuneCountInString(got))
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
