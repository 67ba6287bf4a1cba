package intake

import (
	"sync"
	"time"
)

// maxLimiterKeys bounds the keys a LogLimiter remembers; past it, it
// forgets them all (one extra line each is the price).
const maxLimiterKeys = 1000

// LogLimiter lets one log line per key through per interval, so an error
// that repeats in a loop (a modem that stays unplugged, a central store
// that stays down, a flood of forged requests) cannot flood the log. It
// counts the lines it held back. Safe for concurrent use.
type LogLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	held  map[string]int
}

// NewLogLimiter lets one line per key through every interval.
func NewLogLimiter(every time.Duration) *LogLimiter {
	return &LogLimiter{every: every, last: map[string]time.Time{}, held: map[string]int{}}
}

// Allow reports whether a line for key may be logged at now, and how many
// were held back since the last one that was.
func (l *LogLimiter) Allow(key string, now time.Time) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, seen := l.last[key]; seen && now.Sub(last) < l.every {
		l.held[key]++
		return false, 0
	}
	if len(l.last) >= maxLimiterKeys {
		clear(l.last)
		clear(l.held)
	}
	held = l.held[key]
	l.last[key], l.held[key] = now, 0
	return true, held
}
