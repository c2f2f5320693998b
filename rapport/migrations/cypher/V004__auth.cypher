// Staff login credentials (rapport.auth.staff): one per email, pointing at its User by id.
CREATE CONSTRAINT credential_email IF NOT EXISTS FOR (c:_Credential) REQUIRE c.email IS UNIQUE;
// API keys (rapport.auth.api_keys): found by the lookup part of the key, listed and revoked by id.
CREATE CONSTRAINT api_key_lookup IF NOT EXISTS FOR (k:_ApiKey) REQUIRE k.lookup IS UNIQUE;
CREATE CONSTRAINT api_key_id IF NOT EXISTS FOR (k:_ApiKey) REQUIRE k.id IS UNIQUE;
