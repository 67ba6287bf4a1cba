package intake

import (
	"errors"
	"testing"
)

func TestTicketNumber(t *testing.T) {
	if got, want := TicketNumber("", 482130), "4821303"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := TicketNumber("", 1), "0000013"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := TicketNumber("9", 1234567); got[:8] != "91234567" || len(got) != 9 {
		t.Fatalf("got %q, want prefix 9 and 7-digit sequence", got)
	}
}

func TestCheckTicket(t *testing.T) {
	good := TicketNumber("", 482130)
	if err := CheckTicket("", good); err != nil {
		t.Fatalf("CheckTicket(%q) = %v, want nil", good, err)
	}
	// Every single wrong digit and every adjacent transposition is caught.
	for i := 0; i < len(good); i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == good[i] {
				continue
			}
			bad := []byte(good)
			bad[i] = d
			if err := CheckTicket("", string(bad)); !errors.Is(err, ErrInvalidTicket) {
				t.Errorf("CheckTicket(%q) = %v, want ErrInvalidTicket", bad, err)
			}
		}
		if i+1 < len(good) && good[i] != good[i+1] {
			bad := []byte(good)
			bad[i], bad[i+1] = bad[i+1], bad[i]
			if err := CheckTicket("", string(bad)); !errors.Is(err, ErrInvalidTicket) {
				t.Errorf("CheckTicket(%q) = %v, want ErrInvalidTicket", bad, err)
			}
		}
	}
	for _, s := range []string{"", "123", "48213", "abcdefg", "48213O3"} {
		if err := CheckTicket("", s); err == nil {
			t.Errorf("CheckTicket(%q) = nil, want error", s)
		}
	}
	if err := CheckTicket("77", good); err == nil {
		t.Errorf("CheckTicket with wrong prefix = nil, want error")
	}
}
