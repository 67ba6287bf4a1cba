package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/central"
	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

var wib = time.FixedZone("WIB", 7*3600)

const (
	warga  = "+6281234567890"
	warga2 = "+6285755512345"
)

// rig is a real store and engine, a central sync, and the fake store.
type rig struct {
	t  *testing.T
	db *store.DB
	e  *intake.Engine
	fs *fakeStore
	c  *central.Central
	n  atomic.Int64
}

type rigOpt func(*central.Config, *intake.Settings)

func withUpdates(c *central.Config, s *intake.Settings) { c.Updates, s.CentralUpdates = true, true }

func newRig(t *testing.T, opts ...rigOpt) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "sambat.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := intake.Settings{Location: wib, Unknown: "help", Categories: intake.DefaultCategories(),
		OPDs: intake.DefaultOPDs(), CentralSync: true, SLA: intake.SLA{Respond: 3, Resolve: 7, WorkingDays: true}}
	fs := newFakeStore(t)
	cfg := central.Config{URL: fs.url(), APIKey: storeKey, JurisdictionID: jurisdiction,
		PollInterval: time.Hour, InboundAPIKey: "k-inbound"}
	for _, o := range opts {
		o(&cfg, &s)
	}
	e, err := intake.NewEngine(db, s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := central.New(cfg, central.Deps{Engine: e, Jobs: db})
	if err != nil {
		t.Fatal(err)
	}
	c.JobPoll, c.Backoff, c.MaxBackoff, c.TokenRetry = 10*time.Millisecond, 5*time.Millisecond, 40*time.Millisecond, 5*time.Millisecond
	c.SetTimeout(5 * time.Second)
	return &rig{t: t, db: db, e: e, fs: fs, c: c}
}

// start runs the sync until the test ends.
func (r *rig) start() {
	r.c.Start(context.Background())
	r.t.Cleanup(func() { r.c.Close() })
}

// send handles one SMS and returns the ticket it touched.
func (r *rig) send(from, text string, atts ...intake.Attachment) string {
	r.t.Helper()
	res, err := r.e.Handle(context.Background(), intake.Message{Channel: "sim",
		ExternalID: fmt.Sprint("m", r.n.Add(1)), From: from, Text: text, Attachments: atts})
	if err != nil {
		r.t.Fatalf("Handle(%q): %v", text, err)
	}
	return res.Ticket
}

func (r *rig) ticket(number string) *intake.Ticket {
	r.t.Helper()
	t, err := r.e.TicketDetail(context.Background(), number)
	if err != nil {
		r.t.Fatalf("TicketDetail(%s): %v", number, err)
	}
	return t
}

// waitFor polls cond until it holds or 15 s pass.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSynced waits until every ticket is synced.
func (r *rig) waitSynced(numbers ...string) {
	r.t.Helper()
	r.waitFor("tickets synced", func() bool {
		for _, n := range numbers {
			if r.ticket(n).SyncState != intake.SyncSynced {
				return false
			}
		}
		return true
	})
}

// waitIdle waits until no job is queued (a job is finished just after its
// ticket is marked synced).
func (r *rig) waitIdle() {
	r.t.Helper()
	r.waitFor("empty backlog", func() bool {
		st, err := r.c.Stats(context.Background())
		return err == nil && st.Backlog == 0
	})
}

// sms returns the texts of the notify rows to phone, oldest first.
func (r *rig) sms(phone string) []string {
	r.t.Helper()
	rows, err := r.db.Outbox(context.Background(), store.OutboxFilter{Limit: 500})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind == "notify" && rows[i].Phone == phone {
			out = append(out, rows[i].Text)
		}
	}
	return out
}

func TestCentral_Push(t *testing.T) {
	r := newRig(t)
	plain := r.send(warga, "SAMBAT#JALAN#Jl Ijen 12#jalan berlubang dalam",
		intake.Attachment{URL: "https://media.example/1.jpg", ContentType: "image/jpeg"})
	secret := r.send(warga2, "SAMBAT RAHASIA#SAMPAH##sampah dibuang ke sungai")
	r.start()
	r.c.Kick()
	r.waitSynced(plain, secret)
	r.waitIdle()

	for _, n := range []string{plain, secret} {
		tk := r.ticket(n)
		if tk.Status != intake.Diteruskan || tk.CentralID == "" || countStatus(tk, intake.Diteruskan) != 1 {
			t.Errorf("ticket %s: status %s central id %q events %+v", n, tk.Status, tk.CentralID, tk.Events)
		}
	}
	r.fs.with(func(f *fakeStore) {
		p := f.bySMS[plain].form
		want := map[string]string{"api_key": storeKey, "jurisdiction_id": jurisdiction, "service_code": "JALAN",
			"description": "jalan berlubang dalam", "address_string": "Jl Ijen 12", "phone": warga,
			"attribute[sms_ticket]": plain, "media_url": "https://media.example/1.jpg"}
		for k, v := range want {
			if got := p.Get(k); got != v {
				t.Errorf("POST field %s: got %q, want %q", k, got, v)
			}
		}
		s := f.bySMS[secret].form
		if s.Has("phone") || s.Get("address_string") != "Kota Malang" || s.Get("service_code") != "SAMPAH" {
			t.Errorf("RAHASIA ticket posted as %v: want no phone, the city as address", s)
		}
		if got := fmt.Sprint(f.bySMS[plain].id); r.ticket(plain).CentralID != got {
			t.Errorf("central id: got %q, want the store's numeric id %s", r.ticket(plain).CentralID, got)
		}
	})
	if sms := r.sms(warga); len(sms) != 0 {
		t.Errorf("SMS for diteruskan: %q (the resident is not told)", sms)
	}
	h := r.c.Health(context.Background())
	if !h.OK || h.Inbound || h.Detail["backlog"] != 0 || h.Detail["last_success"] == "" {
		t.Errorf("health after push: %+v", h)
	}
	// The last successful sync survives a restart.
	r.c.Close()
	again, err := central.New(central.Config{URL: r.fs.url(), PollInterval: time.Hour}, central.Deps{Engine: r.e, Jobs: r.db})
	if err != nil {
		t.Fatal(err)
	}
	again.Start(context.Background())
	defer again.Close()
	if st, err := again.Stats(context.Background()); err != nil || st.LastSuccess.IsZero() {
		t.Errorf("last success after restart: %+v, %v", st, err)
	}
}

func countStatus(t *intake.Ticket, s intake.Status) int {
	n := 0
	for _, e := range t.Events {
		if e.Status == s {
			n++
		}
	}
	return n
}

func TestCentral_Outage(t *testing.T) {
	r := newRig(t)
	r.fs.with(func(f *fakeStore) { f.down = true })
	var numbers []string
	for i := range 5 {
		numbers = append(numbers, r.send(fmt.Sprintf("+62812000000%02d", i), fmt.Sprintf("SAMBAT#JALAN#Jl %d#lubang nomor %d", i, i)))
	}
	r.start()
	r.waitFor("requests refused", func() bool {
		var n int
		r.fs.with(func(f *fakeStore) { n = f.refused })
		return n >= 6
	})
	st, err := r.c.Stats(context.Background())
	if err != nil || st.Backlog != 5 {
		t.Errorf("backlog while down: %+v, %v; want 5", st, err)
	}
	if h := r.c.Health(context.Background()); h.OK || h.Error == "" {
		t.Errorf("health while down: %+v, want not OK with the error", h)
	}
	r.fs.with(func(f *fakeStore) { f.down = false })
	r.waitSynced(numbers...)
	r.waitIdle()
	r.fs.with(func(f *fakeStore) {
		if len(f.bySMS) != 5 {
			t.Errorf("requests created: got %d, want 5", len(f.bySMS))
		}
		for _, n := range numbers {
			if f.posts[n] != 1 {
				t.Errorf("ticket %s reached the store %d times, want 1", n, f.posts[n])
			}
		}
	})
	st, _ = r.c.Stats(context.Background())
	if h := r.c.Health(context.Background()); !h.OK || st.Backlog != 0 || st.LastSuccess.IsZero() {
		t.Errorf("after the outage: health %+v stats %+v", h, st)
	}
}

func TestCentral_UnknownOutcome(t *testing.T) {
	r := newRig(t)
	r.c.SetTimeout(300 * time.Millisecond)
	r.fs.with(func(f *fakeStore) { f.hang = 2 })
	var numbers []string
	for i := range 3 {
		numbers = append(numbers, r.send(fmt.Sprintf("+62813000000%02d", i), fmt.Sprintf("SAMBAT#PJU#Gg %d#lampu mati %d", i, i)))
	}
	r.start()
	r.waitSynced(numbers...)
	r.fs.with(func(f *fakeStore) {
		if len(f.bySMS) != 3 || f.nextID-293944 != 3 {
			t.Errorf("store made %d requests for 3 tickets", f.nextID-293944)
		}
		retried := 0
		for _, n := range numbers {
			if f.posts[n] > 1 {
				retried++
			}
			if id := fmt.Sprint(f.bySMS[n].id); r.ticket(n).CentralID != id {
				t.Errorf("ticket %s has central id %s, want %s", n, r.ticket(n).CentralID, id)
			}
		}
		if retried != 2 {
			t.Errorf("tickets re-posted with their sms_ticket after a timeout: got %d, want 2 (%v)", retried, f.posts)
		}
	})
}

func TestCentral_Refused(t *testing.T) {
	r := newRig(t)
	r.fs.with(func(f *fakeStore) { delete(f.services, "SAMPAH") })
	bad := r.send(warga, "SAMBAT#SAMPAH#Pasar Besar#sampah menumpuk")
	good := r.send(warga2, "SAMBAT#JALAN#Jl Kawi#jalan rusak")
	r.start()
	r.waitSynced(good)
	r.waitFor("refused job failed", func() bool {
		js, _ := r.db.Jobs(context.Background(), bad)
		return len(js) == 1 && js[0].Status == intake.JobFailed
	})
	tk := r.ticket(bad)
	if !strings.Contains(tk.SyncError, "service_code SAMPAH not found") || tk.Status != intake.Diterima {
		t.Errorf("refused ticket: error %q status %s", tk.SyncError, tk.Status)
	}
	r.fs.with(func(f *fakeStore) {
		if f.posts[bad] != 0 {
			t.Errorf("refused POST counted as taken %d times", f.posts[bad])
		}
	})
	h := r.c.Health(context.Background())
	if h.OK || !strings.Contains(h.Error, "service_code SAMPAH not found") || h.Detail["failed"] != 1 {
		t.Errorf("health with a refused ticket: %+v", h)
	}
}

func TestCentral_WrongKey(t *testing.T) {
	r := newRig(t, func(c *central.Config, _ *intake.Settings) { c.APIKey = "wrong" })
	n := r.send(warga, "SAMBAT#JALAN#Jl Kawi#jalan rusak")
	r.start()
	r.waitFor("refused ticket marked", func() bool { return r.ticket(n).SyncState == intake.SyncError })
	if got := r.ticket(n).SyncError; !strings.Contains(got, "403") || !strings.Contains(got, "Invalid api_key") {
		t.Errorf("sync error: %q", got)
	}
}

func TestCentral_Token(t *testing.T) {
	r := newRig(t)
	r.fs.with(func(f *fakeStore) { f.tokens = true })
	n := r.send(warga, "SAMBAT#JALAN#Jl Kawi#jalan rusak")
	r.start()
	r.waitSynced(n)
	r.fs.with(func(f *fakeStore) {
		if want := fmt.Sprint(f.bySMS[n].id); r.ticket(n).CentralID != want || f.posts[n] != 1 {
			t.Errorf("central id %q after %d POSTs, want %s after 1", r.ticket(n).CentralID, f.posts[n], want)
		}
		if got := f.tokenGets["tok-"+fmt.Sprint(f.bySMS[n].id)]; got != 3 {
			t.Errorf("token asked %d times, want 3", got)
		}
	})
}

func TestCentral_PollStatus(t *testing.T) {
	r := newRig(t)
	r.c.Batch = 2
	a := r.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	b := r.send(warga2, "SAMBAT#PJU#Jl Kawi#lampu mati")
	c := r.send("+6281211112222", "SAMBAT#SAMPAH#Pasar#sampah")
	r.start()
	r.waitSynced(a, b, c)
	r.fs.set(a, "closed", "Sudah ditambal “kemarin” 👍", "")
	ctx := context.Background()
	for range 2 {
		if err := r.c.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	if got := r.ticket(a).Status; got != intake.Selesai {
		t.Errorf("status after poll: got %s, want selesai", got)
	}
	sms := r.sms(warga)
	if len(sms) != 1 || !strings.Contains(sms[0], a) || !strings.Contains(sms[0], `Sudah ditambal "kemarin"`) ||
		!intake.IsGSM7(sms[0]) || intake.Segments(sms[0]) > 3 {
		t.Errorf("SMS to the resident: %q, want one naming %s with the note in GSM-7", sms, a)
	}
	if got := r.sms(warga2); len(got) != 0 {
		t.Errorf("SMS for an unchanged ticket: %q", got)
	}
	r.fs.with(func(f *fakeStore) {
		// First poll: 3 open tickets in 2 batches; second: 2 left in 1.
		if len(f.gets) != 3 {
			t.Errorf("GET requests.json calls: %v, want 3", f.gets)
		}
		for _, ids := range f.gets {
			if len(ids) > 2 {
				t.Errorf("batch of %d ids, want at most 2", len(ids))
			}
		}
	})
}

func TestCentral_UpdatesFeed(t *testing.T) {
	r := newRig(t, withUpdates)
	a := r.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	b := r.send(warga2, "SAMBAT#LAINNYA#Jl Kawi#pohon tumbang menutup jalan")
	r.start()
	r.waitSynced(a, b)
	now := time.Now().UTC()
	var idA, idB int
	r.fs.with(func(f *fakeStore) {
		idA, idB = f.bySMS[a].id, f.bySMS[b].id
		f.feed = []map[string]any{
			{"update_id": 501, "service_request_id": idA, "status": "IN_PROGRESS", "description": "dijadwalkan",
				"updated_datetime": now.Add(-3 * time.Minute).Format(time.RFC3339)},
			{"update_id": "502", "service_request_id": fmt.Sprint(idB), "status": "INTERNAL_REFERRAL",
				"description": "dialihkan", "agency_responsible": "DLH", "updated_datetime": now.Add(-2 * time.Minute).Format(time.RFC3339)},
			{"update_id": 503, "service_request_id": 1, "status": "FIXED", "description": "bukan tiket SMS",
				"updated_datetime": now.Add(-2 * time.Minute).Format(time.RFC3339)},
			{"update_id": 504, "service_request_id": idA, "status": "fixed", "description": "sudah ditambal",
				"updated_datetime": now.Add(-time.Minute).Format(time.RFC3339)},
		}
	})
	ctx := context.Background()
	for range 2 {
		if err := r.c.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	if ta, tb := r.ticket(a), r.ticket(b); ta.Status != intake.Selesai || tb.Status != intake.Diteruskan || tb.OPD != "DLH" {
		t.Errorf("after the feed: %s %s, %s %s/%s", a, ta.Status, b, tb.Status, tb.OPD)
	}
	if got := r.sms(warga); len(got) != 2 || !strings.Contains(got[0], "DIPROSES") || !strings.Contains(got[1], "sudah ditambal") {
		t.Errorf("SMS to resident a: %q, want diproses then selesai", got)
	}
	if got := r.sms(warga2); len(got) != 1 || !strings.Contains(got[0], "DLH") {
		t.Errorf("SMS to resident b: %q, want one naming DLH", got)
	}
	r.fs.with(func(f *fakeStore) {
		if f.feedQuery.Get("api_key") != storeKey || f.feedQuery.Get("end_date") == "" {
			t.Errorf("feed query: %v", f.feedQuery)
		}
	})
	since, err := r.db.State(ctx, "central.updates_since")
	if err != nil || !strings.HasPrefix(since, now.Add(-time.Minute).Format("2006-01-02T15:04")) {
		t.Errorf("cursor: %q, %v", since, err)
	}
}

func TestCentral_ResidentChanges(t *testing.T) {
	r := newRig(t, withUpdates)
	a := r.send(warga, "SAMBAT#JALAN#Jl Ijen#jalan berlubang")
	r.send(warga, "TAMBAH "+a+" lubangnya makin lebar")
	b := r.send(warga2, "SAMBAT#PJU#Jl Kawi#lampu mati")
	r.send(warga2, "BATAL "+b)
	r.start()
	r.waitFor("two updates posted", func() bool {
		var n int
		r.fs.with(func(f *fakeStore) { n = len(f.updates) })
		return n == 2
	})
	r.fs.with(func(f *fakeStore) {
		idA, idB := fmt.Sprint(f.bySMS[a].id), fmt.Sprint(f.bySMS[b].id)
		got := map[string]string{}
		for _, u := range f.updates {
			got[u.Get("service_request_id")] = u.Get("status") + " " + u.Get("description")
		}
		if got[idA] != "OPEN TAMBAH: lubangnya makin lebar" || got[idB] != "CLOSED BATAL: dibatalkan oleh pelapor" {
			t.Errorf("updates posted: %v", got)
		}
		// A ticket reaches the store before its updates.
		pos := map[string]int{}
		for i, o := range f.order {
			pos[o] = i
		}
		if pos["create:"+a] > pos["update:"+idA] || pos["create:"+b] > pos["update:"+idB] {
			t.Errorf("order at the store: %v", f.order)
		}
	})
	r.waitFor("update event", func() bool {
		for _, e := range r.ticket(a).Events {
			if strings.Contains(e.Note, "perubahan diteruskan") {
				return true
			}
		}
		return false
	})
}
