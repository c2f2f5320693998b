// An outbox record holds every event its transaction recorded, numbered from its seq on
// (rapport.events.outbox); records written one per event before are runs of one.
MATCH (o:_Outbox) WHERE o.payloads IS NULL
SET o.payloads = [o.payload], o.payload = null, o.type = null, o.label = null;
