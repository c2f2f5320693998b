// The transactional outbox (rapport.events): one record per change, numbered in commit order.
CREATE CONSTRAINT outbox_seq IF NOT EXISTS FOR (o:_Outbox) REQUIRE o.seq IS UNIQUE;
CREATE CONSTRAINT outbox_sequence_name IF NOT EXISTS FOR (s:_OutboxSequence) REQUIRE s.name IS UNIQUE;
CREATE INDEX outbox_sent IF NOT EXISTS FOR (o:_Outbox) ON (o.sent);
