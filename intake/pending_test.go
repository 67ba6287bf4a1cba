package intake_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// accept stores one message with Accept and returns its result.
func (h *harness) accept(channel, id, from, text string) intake.Result {
	h.t.Helper()
	res, err := h.e.Accept(context.Background(), intake.Message{Channel: channel, ExternalID: id, From: from, Text: text})
	if err != nil {
		h.t.Fatalf("Accept(%q) = %v", text, err)
	}
	return res
}

// process runs ProcessPending and returns how many messages it acted on.
func (h *harness) process() int {
	h.t.Helper()
	n, err := h.e.ProcessPending(context.Background())
	if err != nil {
		h.t.Fatalf("ProcessPending = %v", err)
	}
	return n
}

// inbound reads a stored inbound message.
func (h *harness) inbound(channel, id string) *intake.Message {
	h.t.Helper()
	var m *intake.Message
	err := h.db.View(context.Background(), func(tx intake.Tx) (err error) {
		m, err = tx.Inbound(channel, id)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// conversation is phone's conversation as "in:"/"out:" lines, ticket
// numbers replaced by "#" (they depend on the order senders are served).
func (h *harness) conversation(phone string) []string {
	h.t.Helper()
	var items []intake.ConversationItem
	err := h.db.View(context.Background(), func(tx intake.Tx) (err error) {
		items, err = tx.Conversation(phone, 100)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	num := regexp.MustCompile(`\b\d{7}\b`)
	var out []string
	for _, it := range items {
		out = append(out, it.Direction+": "+num.ReplaceAllString(it.Text, "#"))
	}
	return out
}

func TestEngine_AcceptThenProcess(t *testing.T) {
	h := newHarness(t)
	queued := 0
	h.e.OnQueued = func() { queued++ }
	res := h.accept("twilio", "SM1", "whatsapp:"+warga, "SAMBAT jalan berlubang di Jl Ijen")
	if res.Duplicate || res.InboundID == 0 || res.Ticket != "" || len(res.Replies) != 0 {
		t.Fatalf("Accept = %+v, want a stored message and nothing done yet", res)
	}
	if again := h.accept("twilio", "SM1", "whatsapp:"+warga, "SAMBAT jalan berlubang di Jl Ijen"); !again.Duplicate || again.InboundID != res.InboundID {
		t.Fatalf("redelivered Accept = %+v, want a duplicate of %d", again, res.InboundID)
	}
	m := h.inbound("twilio", "SM1")
	if !m.Pending || m.Ticket != "" || m.Phone != warga {
		t.Fatalf("before processing: %+v, want pending, no ticket, phone %s", m, warga)
	}
	if n := h.countOut(warga, "ack"); n != 0 || queued != 0 {
		t.Fatalf("before processing: %d replies, %d wake-ups, want none", n, queued)
	}
	if n := h.process(); n != 1 {
		t.Fatalf("ProcessPending acted on %d, want 1", n)
	}
	m = h.inbound("twilio", "SM1")
	if m.Pending || m.Ticket == "" {
		t.Fatalf("after processing: %+v, want a ticket and not pending", m)
	}
	if tk := h.ticket(m.Ticket); tk.Complainant != warga || tk.ReplyAddress != "whatsapp:"+warga {
		t.Fatalf("ticket %+v: want complainant %s replying on WhatsApp", tk, warga)
	}
	if n := h.countOut(warga, "ack"); n != 1 || queued != 1 {
		t.Fatalf("after processing: %d replies, %d wake-ups, want 1 and 1", n, queued)
	}
	if n := h.process(); n != 0 {
		t.Fatalf("second ProcessPending acted on %d, want 0", n)
	}
	if n := h.countOut(warga, "ack"); n != 1 {
		t.Fatalf("after a second pass: %d replies, want still 1", n)
	}
}

// TestEngine_AcceptSameAsHandle sends interleaved dialogs and complaints of
// several senders once through Handle and once through Accept then
// ProcessPending: every sender's conversation comes out the same, so
// accepted messages are acted on in arrival order per sender.
func TestEngine_AcceptSameAsHandle(t *testing.T) {
	type msg struct{ from, text string }
	var script []msg
	for i, p := range []string{warga, warga2, "+6281300000001", "+6281300000002", "+6281300000003"} {
		script = append(script, msg{p, "MENU"}, msg{p, "1"}, msg{p, "1"}, msg{p, fmt.Sprintf("Jl Ijen %d", i)},
			msg{p, "jalan berlubang dalam"}, msg{p, "1"}, msg{p, "SAMBAT sampah di Pasar Besar"},
			msg{p, "SAMBAT sampah di Pasar Besar"}, msg{p, "BELUM"})
	}
	// Interleave the senders: message k of every sender, then k+1.
	var order []msg
	for k := 0; k < 9; k++ {
		for s := 0; s < 5; s++ {
			order = append(order, script[s*9+k])
		}
	}
	sync, async := newHarness(t), newHarness(t)
	for i, m := range order {
		if _, err := sync.e.Handle(context.Background(), intake.Message{Channel: "sim", ExternalID: fmt.Sprint(i), From: m.from, Text: m.text}); err != nil {
			t.Fatal(err)
		}
		async.accept("sim", fmt.Sprint(i), m.from, m.text)
	}
	if n := async.process(); n != len(order) {
		t.Fatalf("ProcessPending acted on %d, want %d", n, len(order))
	}
	for _, p := range []string{warga, warga2, "+6281300000001", "+6281300000002", "+6281300000003"} {
		want, got := sync.conversation(p), async.conversation(p)
		if !slices.Equal(got, want) {
			t.Errorf("conversation of %s through Accept:\n%q\nthrough Handle:\n%q", p, got, want)
		}
	}
}

// TestEngine_AcceptSurvivesRestart: messages accepted by a process that
// then stops without acting on them are acted on by the next one.
func TestEngine_AcceptSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sambat.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := intake.NewEngine(db, testSettings(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if _, err := e.Accept(context.Background(), intake.Message{Channel: "twilio", ExternalID: fmt.Sprint(i),
			From: fmt.Sprintf("+62813%08d", i), Text: "SAMBAT lampu mati di Jl Semeru"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err = intake.NewEngine(db, testSettings(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.ProcessPending(context.Background()); err != nil || got != n {
		t.Fatalf("ProcessPending after a restart = %d, %v; want %d", got, err, n)
	}
	tickets, err := e.Tickets(context.Background(), intake.TicketFilter{Limit: 1000})
	if err != nil || len(tickets) != n {
		t.Fatalf("%d tickets (%v), want %d", len(tickets), err, n)
	}
}

// failingStore makes creating a ticket for one phone fail.
type failingStore struct {
	*store.DB
	phone string
}

type failingTx struct {
	intake.Tx
	phone string
}

func (f failingTx) CreateTicket(t *intake.Ticket) error {
	if t.Complainant == f.phone {
		return errors.New("disk on fire")
	}
	return f.Tx.CreateTicket(t)
}

func (s failingStore) UpdateBulk(ctx context.Context, fn func(intake.Tx) error) error {
	return s.DB.UpdateBulk(ctx, func(tx intake.Tx) error { return fn(failingTx{tx, s.phone}) })
}

// TestEngine_AcceptFailure: a message the engine cannot act on does not
// hold up other senders, holds up its own sender's later messages while it
// is retried, and is marked "error" (still stored) after the last attempt,
// when its sender is asked once to send it again.
func TestEngine_AcceptFailure(t *testing.T) {
	h := newHarness(t)
	e, err := intake.NewEngine(failingStore{h.db, warga}, testSettings(), h.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	h.accept("twilio", "bad", warga, "SAMBAT jalan berlubang di Jl Ijen")
	h.accept("twilio", "later", warga, "CEK 1000001")
	h.accept("twilio", "other", warga2, "SAMBAT lampu mati di Jl Semeru")
	if n, err := e.ProcessPending(context.Background()); n != 1 || err != nil {
		t.Fatalf("first pass acted on %d (%v), want only the other sender's message", n, err)
	}
	if m := h.inbound("twilio", "other"); m.Pending || m.Ticket == "" {
		t.Fatalf("other sender: %+v, want a ticket", m)
	}
	if m := h.inbound("twilio", "later"); !m.Pending {
		t.Fatalf("the failing sender's later message was acted on before the one that failed: %+v", m)
	}
	apologies := func() []intake.Outgoing {
		var out []intake.Outgoing
		for _, o := range h.outboxRows("error", warga) {
			if strings.HasPrefix(o.Text, "Maaf, sedang ada gangguan") {
				out = append(out, o)
			}
		}
		return out
	}
	h.process() // second attempt fails too
	if m := h.inbound("twilio", "bad"); !m.Pending {
		t.Fatalf("after 2 attempts: %+v, want still pending", m)
	}
	if a := apologies(); len(a) != 0 {
		t.Fatalf("after 2 attempts: %d apologies queued, want none while it is retried", len(a))
	}
	h.process() // third attempt: given up, marked, and the later message goes on
	bad, later := h.inbound("twilio", "bad"), h.inbound("twilio", "later")
	if bad.Pending || bad.Note != "error" || bad.Text != "SAMBAT jalan berlubang di Jl Ijen" {
		t.Fatalf("after the last attempt: %+v, want kept verbatim, marked error", bad)
	}
	if later.Pending {
		t.Fatalf("later message still pending after the failed one was given up: %+v", later)
	}
	// The sender is told once to send it again, on the channel it came by.
	if a := apologies(); len(a) != 1 || a[0].InboundID != bad.ID || a[0].Channel != "twilio" || a[0].To != warga {
		t.Fatalf("apologies %+v, want one reply to %s about message %d on twilio", a, warga, bad.ID)
	}
	h.process()
	if a := apologies(); len(a) != 1 {
		t.Fatalf("after another pass: %d apologies, want still one", len(a))
	}
}
