package store

import (
	"path/filepath"
	"strings"
	"testing"
)

// queryPlan returns the EXPLAIN QUERY PLAN details of q, joined by "; ".
func queryPlan(t *testing.T, d *DB, q string, args ...any) string {
	t.Helper()
	rows, err := d.rdb.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// TestEraseInbound_UsesIndex: erasing a ticket's messages looks them up
// through the partial index inbound_ticket instead of reading every
// message ever stored.
func TestEraseInbound_UsesIndex(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := queryPlan(t, d, eraseInbound, "KM-1", 1); !strings.Contains(got, "USING COVERING INDEX inbound_ticket") || strings.Contains(got, "SCAN inbound") {
		t.Errorf("plan %q: want a search of inbound_ticket, no scan", got)
	}
}

// TestErasePastRetention_UsesIndexes: the hourly erasure finds what is
// left to erase through an index, never by reading every row ever stored
// (once per chunk), nor every ticket for each candidate row.
func TestErasePastRetention_UsesIndexes(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		name  string
		q     string
		args  []any
		index []string
	}{
		{"InboundWindow", looseInbound.window, []any{1, 200, 5}, []string{"INTEGER PRIMARY KEY"}},
		{"Inbound", looseInbound.erase, []any{1, 200, 5, "a", "b", "c"}, []string{"INTEGER PRIMARY KEY", "INDEX tickets_inbound"}},
		{"OutboxWindow", looseOutbox.window, []any{1, 200, 5}, []string{"INTEGER PRIMARY KEY"}},
		{"Outbox", looseOutbox.erase, []any{1, 200, 5, "a", "b", "c", "q", "s", 5}, []string{"INTEGER PRIMARY KEY"}},
		{"Parts", erasePartsQuery, []any{1, 200}, []string{"INDEX parts_received"}},
		{"Sessions", eraseSessionsQuery, []any{1, 200}, []string{"INDEX sessions_expires"}},
		{"Digests", pruneDigestsQuery, []any{1, 200, "digest"}, []string{"INDEX sqlite_autoindex_seen_1"}},
		{"Reminders", pruneRemindersQuery, []any{1, 200, "a", "b", "c", "d", "e", "f"},
			[]string{"INDEX sqlite_autoindex_seen_1", "INDEX sqlite_autoindex_tickets_1"}},
		{"Jobs", pruneJobsQuery, []any{1, 200, "done", "a", "b", "c"}, []string{"INDEX jobs_due"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := queryPlan(t, d, tc.q, tc.args...)
			for _, ix := range tc.index {
				if !strings.Contains(got, ix+" ") {
					t.Errorf("plan %q: want a search of %s", got, ix)
				}
			}
			if strings.Contains(got, "SCAN ") {
				t.Errorf("plan %q: want no scan", got)
			}
		})
	}
}
