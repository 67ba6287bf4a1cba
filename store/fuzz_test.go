package store_test

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/kotamalang/sambatd/intake"
)

// FuzzInboundRoundTrip checks that whatever a channel hands over (invalid
// UTF-8, NULs, SQL, huge ids) is kept verbatim and deduplicated.
func FuzzInboundRoundTrip(f *testing.F) {
	f.Add("SM123", "whatsapp:+6281234567890", "SAMBAT jalan rusak", []byte("Body=SAMBAT"))
	f.Add("", "TELKOMSEL", "'; DROP TABLE inbound; --", []byte{0x00, 0xff, 0x07})
	f.Add("x\x00y", "0812", "\xff\xfe invalid utf-8 \x00", []byte(nil))
	db, _, _ := openTest(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, ext, from, text string, raw []byte) {
		// A channel of its own per run, so runs never dedup each other.
		channel := fmt.Sprint("fuzz-", n.Add(1))
		in := intake.Message{Channel: channel, ExternalID: ext, From: from, Phone: from, Text: text, Raw: raw}
		var first, second int64
		var fresh bool
		err := db.Update(t.Context(), func(tx intake.Tx) (err error) {
			m := in
			if first, _, err = tx.InsertInbound(&m); err != nil {
				return err
			}
			in.ExternalID = m.ExternalID // filled in when ext was empty
			dup := in
			second, fresh, err = tx.InsertInbound(&dup)
			return err
		})
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
		if fresh || second != first {
			t.Errorf("redelivery: got id %d fresh=%v, want id %d fresh=false", second, fresh, first)
		}
		err = db.View(t.Context(), func(tx intake.Tx) error {
			got, err := tx.Inbound(channel, in.ExternalID)
			if err != nil {
				return err
			}
			if got.Text != text || got.From != from || !bytes.Equal(got.Raw, raw) {
				t.Errorf("stored (%q, %q, %x), want (%q, %q, %x)", got.Text, got.From, got.Raw, text, from, raw)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
	})
}
