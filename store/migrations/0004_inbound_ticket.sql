-- A message is stored before the engine gives it a ticket (Engine.Accept),
-- and most messages never get one, so inbound_ticket held mostly '' and
-- every acknowledgement paid for an index entry nobody looks up. Only rows
-- with a ticket are indexed now; erasing a ticket's messages still finds
-- them through it (the query says ticket <> '').
DROP INDEX inbound_ticket;
CREATE INDEX inbound_ticket ON inbound (ticket) WHERE ticket <> '';
