/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version`
 * records how many have run. Never edit a released migration: append a new one.
 */
export const migrations: readonly string[] = [
  // 1: devices, API tokens, credential change log.
  `
  CREATE TABLE devices (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    secret_hash       BLOB NOT NULL,
    secret_generation INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    last_seen_at      INTEGER,
    online            INTEGER NOT NULL DEFAULT 0,
    revoked_at        INTEGER
  ) STRICT;

  CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
  ) STRICT;

  -- Appended on every rotate/revoke so a running server (another process) can
  -- disconnect sessions whose credentials no longer hold.
  CREATE TABLE credential_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    at        INTEGER NOT NULL
  ) STRICT;
  `,
];
