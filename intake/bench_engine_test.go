package intake_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/kotamalang/sambatd/intake"
	"github.com/kotamalang/sambatd/store"
)

// BenchmarkEngine_Handle files complaints through the engine on a real
// SQLite file from parallel goroutines (group commit at work).
func BenchmarkEngine_Handle(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := testSettings()
	s.MaxPerDay = 0
	e, err := intake.NewEngine(db, s, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := e.Handle(context.Background(), intake.Message{Channel: "sim", ExternalID: fmt.Sprint(i),
				From: fmt.Sprintf("+62812%08d", i), Text: fmt.Sprintf("SAMBAT jalan berlubang nomor %d di Jl Ijen", i)})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
