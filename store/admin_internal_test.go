package store

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestEraseInbound_UsesIndex: erasing a ticket's messages looks them up
// through the partial index inbound_ticket instead of reading every
// message ever stored.
func TestEraseInbound_UsesIndex(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.rdb.Query("EXPLAIN QUERY PLAN "+eraseInbound, "KM-1", 1)
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
	if got := strings.Join(plan, "; "); !strings.Contains(got, "USING COVERING INDEX inbound_ticket") || strings.Contains(got, "SCAN inbound") {
		t.Errorf("plan %q: want a search of inbound_ticket, no scan", got)
	}
}
