-- Erasure past store.retention (UU 27/2022) also reaches the rows no
-- closed ticket leads to: CEK answers, help, menu steps, refusals, alerts,
-- parts of long messages. Messages and replies are walked in id order
-- behind a cursor (no index on the hot insert path); these indexes let the
-- hourly run find old parts, and the ticket a message created.

CREATE INDEX parts_received ON parts (received_at);
-- Whether a message created a ticket still open, besides its ticket column.
CREATE INDEX tickets_inbound ON tickets (inbound_id);
