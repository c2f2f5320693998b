// Lookups by external id (imports upsert on it) and by the fields lists filter on most.
CREATE INDEX customer_external_id IF NOT EXISTS FOR (n:Customer) ON (n.externalId);
CREATE INDEX account_external_id IF NOT EXISTS FOR (n:Account) ON (n.externalId);
CREATE INDEX deal_external_id IF NOT EXISTS FOR (n:Deal) ON (n.externalId);
CREATE INDEX ticket_external_id IF NOT EXISTS FOR (n:Ticket) ON (n.externalId);
CREATE INDEX campaign_external_id IF NOT EXISTS FOR (n:Campaign) ON (n.externalId);
CREATE INDEX product_external_id IF NOT EXISTS FOR (n:Product) ON (n.externalId);
CREATE INDEX user_external_id IF NOT EXISTS FOR (n:User) ON (n.externalId);
CREATE INDEX activity_external_id IF NOT EXISTS FOR (n:Activity) ON (n.externalId);
CREATE INDEX customer_email IF NOT EXISTS FOR (n:Customer) ON (n.email);
CREATE INDEX user_email IF NOT EXISTS FOR (n:User) ON (n.email);
CREATE INDEX account_name IF NOT EXISTS FOR (n:Account) ON (n.name);
CREATE INDEX deal_stage IF NOT EXISTS FOR (n:Deal) ON (n.stage);
CREATE INDEX ticket_status IF NOT EXISTS FOR (n:Ticket) ON (n.status);
CREATE INDEX ticket_priority IF NOT EXISTS FOR (n:Ticket) ON (n.priority);
CREATE INDEX activity_occurred_at IF NOT EXISTS FOR (n:Activity) ON (n.occurredAt);
