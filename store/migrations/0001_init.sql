-- Initial schema. Times are INTEGER unix milliseconds UTC; NULL means unset.

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);

CREATE TABLE inbound (
	id          INTEGER PRIMARY KEY,
	channel     TEXT NOT NULL,
	external_id TEXT NOT NULL,
	sender      TEXT NOT NULL DEFAULT '',
	phone       TEXT NOT NULL DEFAULT '',
	recipient   TEXT NOT NULL DEFAULT '',
	text        TEXT NOT NULL DEFAULT '',
	raw         BLOB NOT NULL DEFAULT x'',
	received_at INTEGER NOT NULL,
	stored_at   INTEGER NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	ticket      TEXT NOT NULL DEFAULT '',
	attachments TEXT NOT NULL DEFAULT '',
	UNIQUE (channel, external_id)
);
CREATE INDEX inbound_phone ON inbound (phone, received_at);
CREATE INDEX inbound_ticket ON inbound (ticket);

CREATE TABLE parts (
	id          INTEGER PRIMARY KEY,
	channel     TEXT NOT NULL,
	part_key    TEXT NOT NULL,
	grp         TEXT NOT NULL,
	sender      TEXT NOT NULL DEFAULT '',
	seq         INTEGER NOT NULL,
	total       INTEGER NOT NULL,
	text        TEXT NOT NULL DEFAULT '',
	raw         BLOB NOT NULL DEFAULT x'',
	received_at INTEGER NOT NULL,
	joined_at   INTEGER, -- NULL until the message is joined; joined parts stay for dedup
	UNIQUE (channel, part_key)
);
CREATE INDEX parts_group ON parts (channel, grp, joined_at);

CREATE TABLE tickets (
	number           TEXT PRIMARY KEY,
	seq              INTEGER NOT NULL UNIQUE,
	status           TEXT NOT NULL,
	category         TEXT NOT NULL DEFAULT '',
	opd              TEXT NOT NULL DEFAULT '',
	location         TEXT NOT NULL DEFAULT '',
	description      TEXT NOT NULL DEFAULT '',
	complainant      TEXT NOT NULL DEFAULT '',
	complainant_name TEXT NOT NULL DEFAULT '',
	submitted_by     TEXT NOT NULL DEFAULT '',
	confidential     INTEGER NOT NULL DEFAULT 0,
	channel          TEXT NOT NULL DEFAULT '',
	reply_address    TEXT NOT NULL DEFAULT '',
	inbound_id       INTEGER NOT NULL DEFAULT 0,
	fingerprint      TEXT NOT NULL DEFAULT '',
	reopened         INTEGER NOT NULL DEFAULT 0,
	central_id       TEXT NOT NULL DEFAULT '',
	sync_state       TEXT NOT NULL DEFAULT '',
	sync_error       TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	responded_at     INTEGER,
	closed_at        INTEGER
);
CREATE INDEX tickets_complainant ON tickets (complainant, created_at);
CREATE INDEX tickets_submitted_by ON tickets (submitted_by, created_at);
CREATE INDEX tickets_fingerprint ON tickets (fingerprint, created_at);
CREATE INDEX tickets_status ON tickets (status, closed_at);
CREATE INDEX tickets_opd ON tickets (opd, status);
CREATE INDEX tickets_category ON tickets (category);
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_sync ON tickets (sync_state);

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	ticket       TEXT NOT NULL REFERENCES tickets (number) ON DELETE CASCADE,
	url          TEXT NOT NULL,
	content_type TEXT NOT NULL DEFAULT ''
);
CREATE INDEX attachments_ticket ON attachments (ticket);

CREATE TABLE events (
	id     INTEGER PRIMARY KEY,
	ticket TEXT NOT NULL REFERENCES tickets (number) ON DELETE CASCADE,
	time   INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL DEFAULT '',
	note   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_ticket ON events (ticket, time);

CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY,
	channel     TEXT NOT NULL DEFAULT '',
	address     TEXT NOT NULL DEFAULT '',
	phone       TEXT NOT NULL DEFAULT '',
	text        TEXT NOT NULL,
	kind        TEXT NOT NULL DEFAULT '',
	ticket      TEXT NOT NULL DEFAULT '',
	inbound_id  INTEGER NOT NULL DEFAULT 0,
	status      TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,
	last_error  TEXT NOT NULL DEFAULT '',
	provider_id TEXT NOT NULL DEFAULT '',
	sent_via    TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	sent_at     INTEGER,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_phone ON outbox (phone, created_at);
CREATE INDEX outbox_provider ON outbox (sent_via, provider_id);
CREATE INDEX outbox_ticket ON outbox (ticket);

CREATE TABLE optouts (
	phone      TEXT PRIMARY KEY,
	opted_out  INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
	key     TEXT PRIMARY KEY,
	phone   TEXT NOT NULL DEFAULT '',
	state   TEXT NOT NULL DEFAULT '',
	updated INTEGER NOT NULL,
	expires INTEGER
);
CREATE INDEX sessions_expires ON sessions (expires);
