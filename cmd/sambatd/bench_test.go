package main

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kotamalang/sambatd/store"
)

// BenchmarkSimIntake posts 10,000 complaints through the simulator API of
// the real daemon binary (16 at a time) and, in the same run and on the
// same disk, measures raw single-row SQLite insert transactions (WAL,
// synchronous=FULL). It reports both rates and their ratio:
//
//	go test -run '^$' -bench SimIntake -benchtime 1x ./cmd/sambatd
func BenchmarkSimIntake(b *testing.B) {
	const n, conc = 10000, 16
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		addr := freeAddr(b)
		cfg := writeConfig(b, dir, addr, "intake:\n  max_per_day: 0\n")
		p := start(b, cfg, addr)
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		begin := time.Now()
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < n; j += conc {
					t0 := time.Now()
					if code := postSim(p.base, fmt.Sprintf("b%d-%d", i, j), fmt.Sprintf("+62813%08d", j),
						fmt.Sprintf("SAMBAT lampu PJU mati nomor %d di Jl Semeru", j)); code != 202 {
						b.Errorf("post %d: status %d", j, code)
						return
					}
					lat[j] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(begin)
		p.kill()
		raw, err := store.BaselineInsertRate(dir, 2000)
		if err != nil {
			b.Fatal(err)
		}
		rate := float64(n) / elapsed.Seconds()
		sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
		b.ReportMetric(rate, "msg/s")
		b.ReportMetric(raw, "raw_insert/s")
		b.ReportMetric(rate/raw, "ratio")
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99_ms")
	}
}
