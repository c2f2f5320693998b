// An outbox record holds every event its transaction recorded, numbered from its seq on
// (rapport.events.outbox). Unsent records written one per event before become runs of one;
// sent ones are only ever pruned, so they are left to the retention rather than rewritten in
// one transaction (a day of events can be millions of records).
MATCH (o:_Outbox) WHERE o.sent = false AND o.payloads IS NULL
SET o.payloads = [o.payload], o.payload = null, o.type = null, o.label = null;
