-- Messages a channel acknowledged before the engine acted on them
-- (Engine.Accept). The engine clears the flag in the same transaction that
-- acts on the message, so a crash leaves it pending, never half done.
ALTER TABLE inbound ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX inbound_pending ON inbound (id) WHERE pending = 1;

-- Claim takes due rows in (next_at, id) order straight from the index;
-- ordering by id alone sorted every due row on each claim, which cost more
-- the longer the queue grew during a burst.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (status, next_at, id);
