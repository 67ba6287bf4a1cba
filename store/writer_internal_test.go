package store

import "testing"

// TestFill checks the writer's batching policy: every waiting Update, bulk
// requests only up to bulkMax, never more than maxBatch.
func TestFill(t *testing.T) {
	queues := func(updates, bulks int) (chan *request, chan *request) {
		reqs, bulk := make(chan *request, updates), make(chan *request, bulks)
		for range updates {
			reqs <- &request{}
		}
		for range bulks {
			bulk <- &request{bulk: true}
		}
		return reqs, bulk
	}
	count := func(batch []*request) (u, b int) {
		for _, r := range batch {
			if r.bulk {
				b++
			} else {
				u++
			}
		}
		return u, b
	}
	for _, tc := range []struct {
		name                   string
		first                  *request
		updates, bulks, bulkMx int
		wantU, wantB           int
	}{
		{"busy: one bulk turn", &request{}, 5, 6, 1, 6, 1},
		{"busy: no bulk turn", &request{}, 5, 6, 0, 6, 0},
		{"busy, bulk came first", &request{bulk: true}, 5, 6, 1, 5, 1},
		{"idle: all bulk", &request{bulk: true}, 0, 6, maxBatch, 0, 7},
		{"capped", &request{}, maxBatch + 10, 10, maxBatch, maxBatch, 0},
		{"updates first, then bulk to the cap", &request{}, maxBatch - 4, 10, maxBatch, maxBatch - 3, 3},
	} {
		reqs, bulk := queues(tc.updates, tc.bulks)
		u, b := count(fill([]*request{tc.first}, reqs, bulk, tc.bulkMx))
		if u != tc.wantU || b != tc.wantB {
			t.Errorf("%s: batch has %d updates and %d bulk, want %d and %d", tc.name, u, b, tc.wantU, tc.wantB)
		}
	}
}
