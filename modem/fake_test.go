package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/modem/modemsim"
)

// fakeIntake is an in-memory intake: it keeps messages once by external
// id, keeps parts once by key (also after their group was joined, as the
// store does), joins a group when every part is there, and records
// delivery reports and flushes.
type fakeIntake struct {
	mu         sync.Mutex
	msgs       map[string]intake.Message
	order      []string
	dups       int // redeliveries absorbed
	partKeys   map[string]bool
	groups     map[string]map[int]intake.Part
	fail       func(key string) error
	deliveries []delivery
	flushes    []time.Time
	alerts     []string
}

type delivery struct{ via, id, status string }

func newFakeIntake() *fakeIntake {
	return &fakeIntake{msgs: map[string]intake.Message{}, partKeys: map[string]bool{},
		groups: map[string]map[int]intake.Part{}}
}

func (f *fakeIntake) Handle(_ context.Context, m intake.Message) (intake.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(m.ExternalID); err != nil {
			return intake.Result{}, err
		}
	}
	return f.keep(m), nil
}

func (f *fakeIntake) keep(m intake.Message) intake.Result {
	if _, ok := f.msgs[m.ExternalID]; ok {
		f.dups++
		return intake.Result{Duplicate: true}
	}
	f.msgs[m.ExternalID] = m
	f.order = append(f.order, m.ExternalID)
	return intake.Result{InboundID: int64(len(f.order))}
}

func (f *fakeIntake) HandlePart(_ context.Context, p intake.Part) (intake.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(p.Key); err != nil {
			return intake.Result{}, err
		}
	}
	if f.partKeys[p.Key] {
		f.dups++
		return intake.Result{Duplicate: true}, nil
	}
	f.partKeys[p.Key] = true
	if near := f.groups[p.Near]; near != nil && len(near) < p.Total {
		p.Group = p.Near // as the engine does: the open group across midnight
	}
	g := f.groups[p.Group]
	if g == nil {
		g = map[int]intake.Part{}
		f.groups[p.Group] = g
	}
	g[p.Seq] = p
	if len(g) < p.Total {
		return intake.Result{}, nil
	}
	return f.keep(join(p.Group, g)), nil
}

func join(group string, g map[int]intake.Part) intake.Message {
	seqs := make([]int, 0, len(g))
	for s := range g {
		seqs = append(seqs, s)
	}
	sort.Ints(seqs)
	var b strings.Builder
	for _, s := range seqs {
		b.WriteString(g[s].Text)
	}
	first := g[seqs[0]]
	return intake.Message{Channel: first.Channel, ExternalID: group, From: first.From, Text: b.String()}
}

func (f *fakeIntake) FlushParts(_ context.Context, _ string, before time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes = append(f.flushes, before)
	return 0, nil
}

func (f *fakeIntake) MarkDelivery(_ context.Context, via, id, status string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deliveries = append(f.deliveries, delivery{via, id, status})
	return nil
}

func (f *fakeIntake) alert(_ context.Context, a Alert) {
	text := fmt.Sprintf("%s %s: %s%s", a.Template, a.Data.Name, a.Data.Note, a.Data.Deadline)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts = append(f.alerts, text)
}

// texts returns how many times each text was received.
func (f *fakeIntake) texts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, m := range f.msgs {
		out[m.Text]++
	}
	return out
}

func (f *fakeIntake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs)
}

func (f *fakeIntake) snapshot() ([]delivery, []string, []time.Time, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivery(nil), f.deliveries...), append([]string(nil), f.alerts...),
		append([]time.Time(nil), f.flushes...), f.dups
}

// rig is a modem under test against a simulator.
type rig struct {
	t   *testing.T
	sim *modemsim.Modem
	m   *Modem
	in  *fakeIntake
	mu  sync.Mutex
	ref int
}

// testTiming keeps tests quick but leaves room for -race on a busy machine.
var testTiming = timing{
	cmd: 3 * time.Second, list: 5 * time.Second, send: 5 * time.Second,
	settle: 50 * time.Millisecond, pinWait: 20 * time.Millisecond,
	backoffMin: 10 * time.Millisecond, backoffMax: 200 * time.Millisecond, balanceEvery: time.Hour,
}

// newRig builds a modem on sim; open nil means an in-process pipe.
func newRig(t *testing.T, sim *modemsim.Modem, cfg Config, open func(context.Context, string, int) (io.ReadWriteCloser, error)) *rig {
	t.Helper()
	r := &rig{t: t, sim: sim, in: newFakeIntake(), ref: 40}
	if open == nil {
		open = pipeOpener(sim)
	}
	if cfg.Name == "" {
		cfg.Name = "m1"
	}
	if cfg.Port == "" {
		cfg.Port = "/dev/ttyTEST"
	}
	r.m = New(cfg, Deps{Handler: r.in, Parts: r.in, Flusher: r.in, Deliveries: r.in,
		NextRef: r.nextRef, Alert: r.in.alert, Open: open,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r.m.t = testTiming
	t.Cleanup(func() {
		if err := r.m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		_ = sim.Close()
	})
	return r
}

func (r *rig) nextRef(context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ref++
	return r.ref, nil
}

func pipeOpener(sim *modemsim.Modem) func(context.Context, string, int) (io.ReadWriteCloser, error) {
	return func(context.Context, string, int) (io.ReadWriteCloser, error) {
		client, server := net.Pipe()
		go func() { _ = sim.Serve(server) }()
		return client, nil
	}
}

func (r *rig) start() {
	r.m.Start(context.Background())
}

func (r *rig) waitHealthy() {
	r.t.Helper()
	waitFor(r.t, 10*time.Second, "modem healthy", func() bool { return r.m.Health(context.Background()).OK })
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errRefused = errors.New("store refused")
