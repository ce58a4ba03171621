-- Accounts (auth/auth_store.h) in the crash index's PostgreSQL database, next to its tables; the
-- versions applied are in auth_schema_version (the index keeps its own in schema_version).
-- The same tables as the SQLite store's (auth/sqlite_auth_store.cc): times in milliseconds since
-- the epoch, permission sets as names separated by spaces, secrets only as token_hash() hex.
-- Names are COLLATE "C": byte order and byte equality, as in SQLite.
CREATE TABLE auth_users(
  name text COLLATE "C" PRIMARY KEY,
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  permissions text NOT NULL,          -- the user's own
  created_ms bigint NOT NULL);

CREATE TABLE auth_tokens(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hash text NOT NULL UNIQUE,          -- token_hash(token): the token itself is never stored
  user_name text COLLATE "C" NOT NULL REFERENCES auth_users(name),
  label text NOT NULL,
  permissions text NOT NULL,          -- as created; check_token narrows them to the owner's now
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  revoked boolean NOT NULL DEFAULT false,
  shown_prefix text NOT NULL);
CREATE INDEX auth_tokens_by_user ON auth_tokens(user_name, id);

CREATE TABLE auth_sessions(
  hash text PRIMARY KEY,              -- token_hash(cookie value)
  user_name text COLLATE "C" NOT NULL REFERENCES auth_users(name),
  csrf text NOT NULL,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL);
CREATE INDEX auth_sessions_by_user ON auth_sessions(user_name);
CREATE INDEX auth_sessions_by_expiry ON auth_sessions(expires_ms);

CREATE TABLE auth_signin_links(
  hash text PRIMARY KEY,              -- token_hash(link secret)
  user_name text COLLATE "C" NOT NULL REFERENCES auth_users(name),
  expires_ms bigint NOT NULL);
CREATE INDEX auth_signin_links_by_expiry ON auth_signin_links(expires_ms);

CREATE TABLE auth_groups(
  name text COLLATE "C" PRIMARY KEY,
  permissions text NOT NULL,
  created_ms bigint NOT NULL);

CREATE TABLE auth_group_members(
  group_name text COLLATE "C" NOT NULL REFERENCES auth_groups(name) ON DELETE CASCADE,
  user_name text COLLATE "C" NOT NULL REFERENCES auth_users(name),
  PRIMARY KEY(group_name, user_name));
CREATE INDEX auth_group_members_by_user ON auth_group_members(user_name);
