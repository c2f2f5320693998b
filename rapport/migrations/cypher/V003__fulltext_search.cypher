// Full-text search on names, emails and subjects (one index per label; FalkorDB keys it by label).
CREATE FULLTEXT INDEX customer_search IF NOT EXISTS FOR (n:Customer) ON EACH [n.firstName, n.lastName, n.email];
CREATE FULLTEXT INDEX account_search IF NOT EXISTS FOR (n:Account) ON EACH [n.name, n.domain];
CREATE FULLTEXT INDEX deal_search IF NOT EXISTS FOR (n:Deal) ON EACH [n.name];
CREATE FULLTEXT INDEX ticket_search IF NOT EXISTS FOR (n:Ticket) ON EACH [n.subject, n.description];
CREATE FULLTEXT INDEX campaign_search IF NOT EXISTS FOR (n:Campaign) ON EACH [n.name];
CREATE FULLTEXT INDEX product_search IF NOT EXISTS FOR (n:Product) ON EACH [n.name, n.sku];
CREATE FULLTEXT INDEX user_search IF NOT EXISTS FOR (n:User) ON EACH [n.name, n.email];
CREATE FULLTEXT INDEX team_search IF NOT EXISTS FOR (n:Team) ON EACH [n.name];
CREATE FULLTEXT INDEX territory_search IF NOT EXISTS FOR (n:Territory) ON EACH [n.name];
CREATE FULLTEXT INDEX activity_search IF NOT EXISTS FOR (n:Activity) ON EACH [n.subject];
CREATE FULLTEXT INDEX segment_search IF NOT EXISTS FOR (n:Segment) ON EACH [n.name];
CREATE FULLTEXT INDEX article_search IF NOT EXISTS FOR (n:Article) ON EACH [n.title, n.body];
