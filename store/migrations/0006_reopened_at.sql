-- When a closed ticket was last opened again (BELUM, or a reopen from the
-- central store), in unix milliseconds; NULL if never. Its resolve
-- deadline and reminders count from then.
ALTER TABLE tickets ADD COLUMN reopened_at INTEGER;
