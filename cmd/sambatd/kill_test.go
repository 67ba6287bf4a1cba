package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKill_SimulatorBurst SIGKILLs the daemon at seeded random moments
// during a burst of complaints and restarts it: every acknowledged message
// is stored once, every complaint has one ticket and one acceptance reply,
// and every reply is sent.
func TestKill_SimulatorBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a daemon process")
	}
	const n = 500
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, "intake:\n  max_per_day: 0\n")
	phone := func(i int) string { return fmt.Sprintf("+62812%08d", i) }
	seed, p := killDuringBursts(t, cfg, addr, n, func(base string, i int) int {
		return postSim(base, "burst-"+strconv.Itoa(i), phone(i), fmt.Sprintf("SAMBAT jalan berlubang nomor %d di Jl Ijen", i))
	})
	defer p.kill()
	verifyBurst(t, p, "sim", n, phone, seed)
}

// killSeed is the seed of a kill test: random, or SAMBAT_KILL_SEED to
// replay a failure. It is logged so a failure can be replayed.
func killSeed(t testing.TB) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SAMBAT_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with SAMBAT_KILL_SEED=%d)", seed, seed)
	return seed
}

// killDuringBursts posts n messages to the daemon, SIGKILLing it three
// times once a seeded random share of what is left has been acknowledged,
// restarting it each time and posting again what was not acknowledged.
// It returns the seed and the daemon of the last round, which was left
// to finish.
func killDuringBursts(t *testing.T, cfg, addr string, n int, post func(base string, i int) int) (uint64, *proc) {
	const kills = 3
	seed := killSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	acked := make([]bool, n)
	for round := 0; ; round++ {
		p := start(t, cfg, addr)
		var wg sync.WaitGroup
		if round == kills {
			burstWith(&wg, p.base, acked, post, -1, nil)
			wg.Wait()
			return seed, p
		}
		left := n - count(acked)
		burstWith(&wg, p.base, acked, post, count(acked)+1+rng.IntN(left*2/3+1), func() { p.cmd.Process.Kill() })
		wg.Wait()
		p.kill()
		t.Logf("round %d: killed with %d of %d acknowledged", round, count(acked), n)
	}
}

// burstWith posts every message not yet acknowledged, 8 at a time, and
// marks the ones answered 2xx. When killAt acknowledgements are reached it
// calls kill; posting stops once the daemon is gone.
func burstWith(wg *sync.WaitGroup, base string, acked []bool, post func(base string, i int) int, killAt int, kill func()) {
	var mu sync.Mutex
	next, total := 0, count(acked)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for next < len(acked) && acked[next] {
					next++
				}
				i := next
				next++
				mu.Unlock()
				if i >= len(acked) {
					return
				}
				code := post(base, i)
				if code == 0 {
					return // killed
				}
				mu.Lock()
				acked[i] = code/100 == 2
				if acked[i] {
					total++
					if total == killAt {
						kill()
					}
				}
				mu.Unlock()
			}
		}()
	}
}

func count(bs []bool) int {
	c := 0
	for _, b := range bs {
		if b {
			c++
		}
	}
	return c
}

func verifyBurst(t *testing.T, p *proc, channel string, n int, phone func(int) string, seed uint64) {
	t.Helper()
	var cnt struct{ Count int }
	getJSON(t, p.base+"/api/v1/messages/count?channel="+channel, &cnt)
	if cnt.Count != n {
		t.Fatalf("seed %d: stored %d messages, want %d", seed, cnt.Count, n)
	}
	// Some channels acknowledge before the engine acts (Engine.Accept):
	// wait until it has acted on everything, then count exactly.
	eventually(t, 30*time.Second, "no accepted message pending", func() bool {
		return nothingPending(t, p.base)
	})
	var list struct{ Tickets []struct{ Number string } }
	getJSON(t, p.base+"/api/v1/tickets?limit=500", &list)
	if len(list.Tickets) != n {
		t.Fatalf("seed %d: %d tickets, want %d", seed, len(list.Tickets), n)
	}
	seen := map[string]bool{}
	for _, tk := range list.Tickets {
		if seen[tk.Number] {
			t.Fatalf("seed %d: ticket number %s used twice", seed, tk.Number)
		}
		seen[tk.Number] = true
	}
	for i := 0; i < n; i++ {
		var items []convItem
		eventually(t, 30*time.Second, "reply sent to "+phone(i), func() bool {
			items = conversation(t, p.base, phone(i))
			if len(items) > 2 {
				t.Fatalf("seed %d: conversation of %d has %d items, want 2: %+v", seed, i, len(items), items)
			}
			return len(items) == 2 && items[1].Status == "sent"
		})
		if items[0].Direction != "in" || items[1].Direction != "out" {
			t.Fatalf("seed %d: conversation of %d: got %+v, want one in and one reply", seed, i, items)
		}
	}
}

// nothingPending reports whether the daemon's metrics show no accepted
// message waiting for the engine.
func nothingPending(t testing.TB, base string) bool {
	return strings.Contains(scrape(t, base), "\nsambatd_inbound_pending 0\n")
}
