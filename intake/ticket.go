package intake

import (
	"fmt"
	"strings"
)

// dammTable is the quasigroup of order 10 from Damm's 2004 thesis.
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// Damm returns the Damm check digit of a string of digits. It reports
// false when s holds anything but ASCII digits.
func Damm(s string) (byte, bool) {
	var interim byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		interim = dammTable[interim][c-'0']
	}
	return '0' + interim, true
}

// TicketNumber formats a ticket number: prefix, the sequence zero-padded to
// at least six digits, and the Damm check digit over both.
func TicketNumber(prefix string, seq int64) string {
	body := fmt.Sprintf("%s%06d", prefix, seq)
	d, _ := Damm(body)
	return body + string(d)
}

// CheckTicket validates a ticket number typed by a resident (digits only,
// already extracted). A wrong digit or two swapped neighbours fail the check.
func CheckTicket(prefix, number string) error {
	if len(number) < len(prefix)+7 || !strings.HasPrefix(number, prefix) {
		return fmt.Errorf("check %q: %w", number, ErrInvalidTicket)
	}
	if d, ok := Damm(number); !ok || d != '0' {
		return fmt.Errorf("check %q: %w", number, ErrInvalidTicket)
	}
	return nil
}
