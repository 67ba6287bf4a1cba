package intake

import (
	"testing"
	"time"
)

func TestLogLimiter(t *testing.T) {
	l := NewLogLimiter(time.Minute)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if ok, _ := l.Allow("a", t0); !ok {
		t.Fatal("first line held back")
	}
	for i := 1; i <= 3; i++ {
		if ok, _ := l.Allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d within the minute let through", i)
		}
	}
	if ok, _ := l.Allow("b", t0.Add(time.Second)); !ok {
		t.Fatal("another key held back")
	}
	if ok, held := l.Allow("a", t0.Add(time.Minute)); !ok || held != 3 {
		t.Fatalf("after the minute: got %v, %d held; want true, 3", ok, held)
	}
}
