package modem

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/kotamalang/sambatd/intake"
)

// outMsg is a long message we sent: the outbox knows it by the MR of its
// last part, and it failed if any part failed.
type outMsg struct {
	last   int // MR of the last part, -1 until it is sent
	failed bool
	told   string // the state last queued for the whole message
}

// pendingReport is a delivery state waiting to be recorded: the report can
// arrive before the outbox has recorded the MR (Send has not returned yet),
// or while the store is busy.
type pendingReport struct {
	id, status string
	at, first  time.Time
}

// reportTTL is how long a report whose message the outbox does not know is
// retried before it is dropped.
const reportTTL = 10 * time.Minute

func (m *Modem) registerPart(mr int, msg *outMsg, last bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.partOf) > 2048 {
		m.partOf = map[int]*outMsg{}
	}
	m.partOf[mr] = msg
	if last {
		msg.last = mr
	}
}

// recordReport turns a status report into delivered/failed for the outbox
// row sent with that MR; for a long message, into the state of the whole.
func (m *Modem) recordReport(ctx context.Context, in inbound) {
	status, final := deliveryStatus(in.status)
	if !final || m.d.Deliveries == nil {
		return
	}
	when := in.discharge
	if when.IsZero() {
		when = m.d.Clock.Now()
	}
	m.mu.Lock()
	id := in.mr
	if msg, ok := m.partOf[in.mr]; ok {
		if status == intake.OutFailed {
			msg.failed = true
		}
		id = msg.last
		switch {
		case msg.last < 0:
			id = -1 // an early part: the last part's report will tell
		case msg.failed:
			status = intake.OutFailed
		case in.mr != msg.last:
			id = -1 // an early part delivered: says nothing about the whole
		}
		if id >= 0 && msg.told == status {
			id = -1
		}
		if id >= 0 {
			msg.told = status
		}
	}
	if id >= 0 && len(m.reports) < 1000 {
		m.reports = append(m.reports, pendingReport{id: strconv.Itoa(id), status: status, at: when, first: time.Now()})
	}
	m.mu.Unlock()
	m.flushReports(ctx)
}

// flushReports records the pending delivery states, keeping those the
// outbox does not know yet.
func (m *Modem) flushReports(ctx context.Context) {
	m.mu.Lock()
	todo := m.reports
	m.reports = nil
	m.mu.Unlock()
	var keep []pendingReport
	for _, r := range todo {
		err := m.d.Deliveries.MarkDelivery(ctx, m.channel, r.id, r.status, r.at)
		if err == nil || time.Since(r.first) > reportTTL {
			continue
		}
		if !errors.Is(err, intake.ErrNotFound) {
			m.logRepeat("report", "record delivery report", "err", err)
		}
		keep = append(keep, r)
	}
	if len(keep) == 0 {
		return
	}
	m.mu.Lock()
	m.reports = append(keep, m.reports...)
	m.mu.Unlock()
}
