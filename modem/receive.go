package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kotamalang/sambatd/intake"
	"github.com/warthog618/modem/at"
)

// serve is the session's only goroutine that talks to the modem: sweeps
// come before sends, so replies wait while messages wait on the SIM.
func (s *session) serve(ctx context.Context) error {
	poll := time.NewTicker(s.m.cfg.PollInterval)
	defer poll.Stop()
	err := s.poll(ctx)
	for {
		if fatal(err) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			s.m.noteError(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.at.Closed():
			return fmt.Errorf("connection lost: %w", at.ErrClosed)
		case <-s.kick:
			err = s.sweep(ctx)
		case pdu := <-s.cds:
			err = s.statusReport(ctx, pdu)
		case line := <-s.ussd:
			s.balanceAnswer(ctx, line)
			err = nil
		case j := <-s.m.jobs:
			err = s.runJob(ctx, j)
		case <-poll.C:
			err = s.poll(ctx)
		}
	}
}

// entry is one message listed by +CMGL.
type entry struct {
	index int
	stat  int // 0/1 received unread/read, 2/3 stored outgoing unsent/sent
	pdu   []byte
}

// parseListing extracts (index, PDU) pairs from the answer to +CMGL or
// +CMGR. Lines that are neither a header nor its PDU (noise, leaked
// indications) are skipped, and a PDU whose length disagrees with its
// header is dropped rather than attributed to the wrong index.
func parseListing(lines []string, prefix string) []entry {
	var out []entry
	index, stat, length := -1, 0, -1
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			index, stat, length = listingHeader(v, prefix == "+CMGL:")
			continue
		}
		if index < 0 {
			continue
		}
		pdu, err := hex.DecodeString(strings.TrimSpace(l))
		if err != nil || len(pdu) == 0 {
			continue
		}
		if length >= 0 && len(pdu) == int(pdu[0])+1+length {
			out = append(out, entry{index: index, stat: stat, pdu: pdu})
		}
		index, length = -1, -1
	}
	return out
}

// listingHeader parses "<index>,<stat>,[<alpha>],<length>" (+CMGL) or
// "<stat>,[<alpha>],<length>" (+CMGR, where the index is not repeated).
func listingHeader(v string, withIndex bool) (index, stat, length int) {
	f := strings.Split(v, ",")
	if len(f) < 2 {
		return -1, 0, -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(f[len(f)-1]))
	if err != nil || n <= 0 || n > 255 {
		return -1, 0, -1
	}
	if !withIndex {
		stat, _ = strconv.Atoi(strings.TrimSpace(f[0]))
		return 0, stat, n
	}
	i, err := strconv.Atoi(strings.TrimSpace(f[0]))
	if err != nil || i < 0 {
		return -1, 0, -1
	}
	stat, _ = strconv.Atoi(strings.TrimSpace(f[1]))
	return i, stat, n
}

// sweep lists every message on the SIM, commits each and deletes it, and
// repeats while that made room for more (a full SIM drains: the network
// stores what it held back as slots free). Then it compares with the
// storage counter: when the SIM still holds messages the listing did not
// show, the dialogue may have slipped (a late OK ending the listing
// early), so it resynchronises and sweeps again.
func (s *session) sweep(ctx context.Context) error {
	used := 0
	for attempt := 0; attempt < 3; attempt++ {
		if err := s.drain(ctx); err != nil {
			return err
		}
		var err error
		used, _, err = s.readStorage()
		switch {
		case fatal(err):
			return err
		case err == nil && used == 0:
			return nil
		case err == nil:
			if err := s.resync(); err != nil {
				return err
			}
		}
	}
	s.m.logRepeat("unlisted", "SIM reports messages that +CMGL does not list", "used", used)
	return nil
}

// drain lists and takes messages until a listing is empty or nothing
// could be taken.
func (s *session) drain(ctx context.Context) error {
	for pass := 0; pass < 1000; pass++ {
		info, err := s.command("+CMGL=4", s.m.t.list)
		if err != nil {
			return fmt.Errorf("list messages: %w", err)
		}
		entries := parseListing(info, "+CMGL:")
		if len(entries) == 0 {
			return nil
		}
		taken, err := s.takeAll(ctx, entries)
		if err != nil || taken == 0 {
			return err
		}
	}
	return nil
}

// takeAll commits and deletes entries one at a time. A message the
// handler refuses stays on the SIM for the next sweep; the others go on.
func (s *session) takeAll(ctx context.Context, entries []entry) (int, error) {
	taken := 0
	var firstErr error
	for _, e := range entries {
		err := s.take(ctx, e)
		if fatal(err) || ctx.Err() != nil {
			return taken, errors.Join(err, ctx.Err())
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		taken++
	}
	if taken == 0 {
		return 0, firstErr
	}
	if firstErr != nil {
		s.m.noteError(firstErr)
	}
	return taken, nil
}

// take commits one listed PDU and only then deletes it from the SIM.
// Outgoing messages someone stored on the SIM are kept verbatim too, so
// that a SIM they fill still drains.
func (s *session) take(ctx context.Context, e entry) error {
	in := decodePDU(e.pdu)
	if e.stat == 2 || e.stat == 3 {
		in = inbound{raw: e.pdu, kind: kindGarbage, key: garbageKey(e.pdu), note: "sim_outgoing"}
	}
	if err := s.commit(ctx, in); err != nil {
		return fmt.Errorf("commit message at index %d: %w", e.index, err)
	}
	return s.delete(e)
}

// commit hands one PDU to the intake (or a status report to the outbox).
// A redelivered PDU has the same key and is absorbed there.
func (s *session) commit(ctx context.Context, in inbound) error {
	m := s.m
	now := m.d.Clock.Now()
	switch {
	case in.kind == kindReport:
		m.recordReport(ctx, in)
		return nil
	case in.kind == kindDeliver && in.concat && m.d.Parts != nil:
		_, err := m.d.Parts.HandlePart(ctx, intake.Part{Channel: m.channel, Key: in.key, Group: in.group,
			Near: in.near, From: in.from, Seq: in.seq, Total: in.total, Text: in.text, Raw: in.raw, Received: now})
		return err
	case in.kind == kindDeliver:
		_, err := m.d.Handler.Handle(ctx, intake.Message{Channel: m.channel, ExternalID: in.key,
			From: in.from, Text: in.text, Raw: in.raw, Received: now})
		return err
	}
	note := in.note
	if note == "" {
		note = "undecodable"
	}
	m.logger.Warn("PDU kept verbatim", "note", note, "err", in.err, "bytes", len(in.raw))
	_, err := m.d.Handler.Handle(ctx, intake.Message{Channel: m.channel, ExternalID: in.key,
		Raw: in.raw, Received: now, Note: note})
	return err
}

// delete removes a committed message by index. When the delete fails the
// index is read back first: deleted after all, still our PDU (delete
// again), or something else (leave it to the next sweep, which commits it
// before deleting). A slot is never deleted unread.
func (s *session) delete(e entry) error {
	cmd := fmt.Sprintf("+CMGD=%d", e.index)
	_, err := s.command(cmd, s.m.t.cmd)
	for try := 0; err != nil && !fatal(err) && try < 2; try++ {
		same, gone, verr := s.verify(e)
		switch {
		case verr != nil:
			return verr
		case gone:
			return nil
		case !same:
			return fmt.Errorf("index %d now holds another message: %w", e.index, err)
		}
		_, err = s.command(cmd, s.m.t.cmd)
	}
	if err != nil {
		return fmt.Errorf("delete index %d: %w", e.index, err)
	}
	return nil
}

func (s *session) verify(e entry) (same, gone bool, err error) {
	info, err := s.command(fmt.Sprintf("+CMGR=%d", e.index), s.m.t.cmd)
	var cms at.CMSError
	switch {
	case errors.As(err, &cms) && strings.TrimSpace(string(cms)) == "321":
		return false, true, nil // invalid memory index: the slot is empty
	case err != nil:
		return false, false, fmt.Errorf("read back index %d: %w", e.index, err)
	}
	got := parseListing(info, "+CMGR:")
	if len(got) == 0 {
		return false, true, nil
	}
	return string(got[0].pdu) == string(e.pdu), false, nil
}

// readStorage reads used and total of the receive storage with +CPMS?.
func (s *session) readStorage() (used, total int, err error) {
	info, err := s.command("+CPMS?", s.m.t.cmd)
	if err != nil {
		return 0, 0, fmt.Errorf("storage: %w", err)
	}
	v := withPrefix(info, "+CPMS:")
	if len(v) == 0 {
		if rerr := s.resync(); rerr != nil {
			return 0, 0, rerr
		}
		return 0, 0, errors.New("storage: no +CPMS in answer")
	}
	f := strings.Split(v[0], ",")
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("storage: malformed %q", v[0])
	}
	used, err1 := strconv.Atoi(strings.TrimSpace(f[1]))
	total, err2 := strconv.Atoi(strings.TrimSpace(f[2]))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("storage: malformed %q", v[0])
	}
	s.m.setStorage(used, total)
	return used, total, nil
}

// statusReport handles a report routed with +CDS (not stored on the SIM).
func (s *session) statusReport(ctx context.Context, pduHex string) error {
	raw, err := hex.DecodeString(strings.TrimSpace(pduHex))
	if err != nil {
		return fmt.Errorf("status report: %w", err)
	}
	in := decodePDU(raw)
	if in.kind != kindReport {
		return fmt.Errorf("status report: not a report: %v", in.err)
	}
	s.m.recordReport(ctx, in)
	return nil
}
