package ussd

import (
	"context"
	"fmt"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// downFailures is how many requests in a row the dialog must fail (error
// or deadline) before the endpoint reports that it can't take sessions;
// any answered request clears it.
const downFailures = 3

// stats is what Health reports. Refused requests (forbidden, malformed)
// are counted but never make the endpoint unhealthy: whoever sends them
// could otherwise take it out of /readyz.
type stats struct {
	answered, refused, failed int
	inARow                    int // failures since the last answer
	lastError                 string
	lastErrorAt, lastAnswer   time.Time
}

var _ intake.Checker = (*Handler)(nil)

// Health reports the endpoint. It is an inbound channel, OK while it can
// take sessions: not when every ussd.allow entry was invalid (it refuses
// every gateway), nor after downFailures failed requests in a row.
func (s *Handler) Health(ctx context.Context) intake.Health {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	h := intake.Health{Name: intake.ChannelUSSD, OK: true, Inbound: true, Checked: time.Now(),
		Detail: map[string]any{"path": s.path, "answered": st.answered, "refused": st.refused, "failed": st.failed}}
	switch {
	case s.allow != nil && len(s.allow) == 0:
		h.OK, h.Error = false, "no valid ussd.allow entry: every gateway is refused"
	case st.inARow >= downFailures:
		h.OK, h.Error = false, fmt.Sprintf("the last %d requests failed: %s", st.inARow, st.lastError)
	}
	if !st.lastAnswer.IsZero() {
		h.Detail["last_answer"] = st.lastAnswer
	}
	if st.lastError != "" {
		h.Detail["last_error"] = st.lastError
		h.Detail["last_error_at"] = st.lastErrorAt
	}
	return h
}

// count records the outcome of one request: refused, failed with err, or
// answered.
func (s *Handler) count(refused bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case refused:
		s.st.refused++
	case err != nil:
		s.st.failed++
		s.st.inARow++
		s.st.lastError, s.st.lastErrorAt = err.Error(), time.Now()
	default:
		s.st.answered++
		s.st.inARow = 0
		s.st.lastAnswer = time.Now()
	}
}
