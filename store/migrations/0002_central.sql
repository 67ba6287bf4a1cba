-- Central store sync and deadline reminders. Times are INTEGER unix
-- milliseconds UTC.

-- Durable work for the central store (Open311). A ticket is queued for
-- creation at most once; the jobs of one ticket run in id order.
CREATE TABLE jobs (
	id         INTEGER PRIMARY KEY,
	kind       TEXT NOT NULL,              -- create | update
	ticket     TEXT NOT NULL,
	payload    TEXT NOT NULL DEFAULT '',   -- JSON
	status     TEXT NOT NULL,              -- queued | done | failed
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_create ON jobs (ticket) WHERE kind = 'create';
CREATE INDEX jobs_due ON jobs (status, next_at);
CREATE INDEX jobs_ticket ON jobs (ticket, status, id);

-- Keys already handled: central update ids, reminders sent, digests sent.
CREATE TABLE seen (
	kind TEXT NOT NULL,
	key  TEXT NOT NULL,
	at   INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
);

-- Small durable values: last successful sync, the updates cursor.
CREATE TABLE state (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE INDEX tickets_central ON tickets (central_id);
