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
  // 2: recording policy per device; the recordings index (segments and explicit gaps).
  `
  ALTER TABLE devices ADD COLUMN record_mode TEXT NOT NULL DEFAULT 'off'
    CHECK (record_mode IN ('off', 'continuous', 'on-demand'));
  -- on-demand: 1 while a user has asked for recording.
  ALTER TABLE devices ADD COLUMN record_active INTEGER NOT NULL DEFAULT 0;
  -- Per-device retention override, in hours (NULL: the global recording.maxAgeHours).
  ALTER TABLE devices ADD COLUMN record_max_age_hours INTEGER;

  CREATE TABLE segments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT NOT NULL,
    start_ms    INTEGER NOT NULL,
    end_ms      INTEGER,
    duration_ms INTEGER,
    bytes       INTEGER NOT NULL DEFAULT 0,
    video_codec TEXT,
    audio_codec TEXT,
    path        TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL CHECK (state IN ('writing', 'complete', 'missing'))
  ) STRICT;
  CREATE INDEX segments_by_device_time ON segments (device_id, start_ms);
  CREATE INDEX segments_by_start ON segments (start_ms);

  -- Time a device should have been recorded but was not, and why.
  CREATE TABLE recording_gaps (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER,
    reason    TEXT NOT NULL CHECK (reason IN ('camera-offline', 'recorder-fault', 'server-down'))
  ) STRICT;
  CREATE INDEX gaps_by_device_time ON recording_gaps (device_id, start_ms);
  `,
  // 3: two more gap reasons (issue 9): 'disk-full' (recording paused until space returns) and
  // 'server-stopped' (a clean shutdown, so the time until the next start is not a blank hole).
  // SQLite cannot change a CHECK constraint: the table is rebuilt with its rows.
  `
  CREATE TABLE recording_gaps_v3 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER,
    reason    TEXT NOT NULL CHECK (reason IN
      ('camera-offline', 'recorder-fault', 'disk-full', 'server-stopped', 'server-down'))
  ) STRICT;
  INSERT INTO recording_gaps_v3 (id, device_id, start_ms, end_ms, reason)
    SELECT id, device_id, start_ms, end_ms, reason FROM recording_gaps;
  DROP TABLE recording_gaps;
  ALTER TABLE recording_gaps_v3 RENAME TO recording_gaps;
  CREATE INDEX gaps_by_device_time ON recording_gaps (device_id, start_ms);
  `,
  // 4: 'media-worker-died' (issue 10): the media worker holding the camera died; recording
  // resumes once the camera is placed on a live worker and streams again.
  `
  CREATE TABLE recording_gaps_v4 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER,
    reason    TEXT NOT NULL CHECK (reason IN
      ('camera-offline', 'recorder-fault', 'disk-full', 'media-worker-died', 'server-stopped', 'server-down'))
  ) STRICT;
  INSERT INTO recording_gaps_v4 (id, device_id, start_ms, end_ms, reason)
    SELECT id, device_id, start_ms, end_ms, reason FROM recording_gaps;
  DROP TABLE recording_gaps;
  ALTER TABLE recording_gaps_v4 RENAME TO recording_gaps;
  CREATE INDEX gaps_by_device_time ON recording_gaps (device_id, start_ms);
  `,
  // 5: users, per-camera grants, browser sessions; API tokens may belong to a user and be
  // limited to cameras and to reading (issue 12, D34). Existing tokens stay admin tokens.
  `
  CREATE TABLE users (
    name                TEXT PRIMARY KEY,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash       TEXT NOT NULL,
    password_generation INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE user_grants (
    user_name  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    live       INTEGER NOT NULL,
    recordings INTEGER NOT NULL,
    PRIMARY KEY (user_name, device_id)
  ) STRICT;

  CREATE TABLE user_sessions (
    id           TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL,
    cookie_hash  BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX user_sessions_by_user ON user_sessions (user_name);

  ALTER TABLE api_tokens ADD COLUMN user_name TEXT;
  -- JSON array of camera ids; NULL: not limited.
  ALTER TABLE api_tokens ADD COLUMN cameras TEXT;
  ALTER TABLE api_tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: the node holding each segment's file, and the node that recorded each gap (issue 11, D40). A
  // SQLite registry is one host's: the registry labels every row with the local node id when it opens.
  // A path is unique per node (two nodes may name files alike): SQLite cannot drop a UNIQUE
  // constraint, so the table is rebuilt with its rows.
  `
  CREATE TABLE segments_v6 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT NOT NULL,
    start_ms    INTEGER NOT NULL,
    end_ms      INTEGER,
    duration_ms INTEGER,
    bytes       INTEGER NOT NULL DEFAULT 0,
    video_codec TEXT,
    audio_codec TEXT,
    path        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('writing', 'complete', 'missing')),
    node_id     TEXT NOT NULL DEFAULT ''
  ) STRICT;
  INSERT INTO segments_v6 (id, device_id, start_ms, end_ms, duration_ms, bytes, video_codec, audio_codec, path, state)
    SELECT id, device_id, start_ms, end_ms, duration_ms, bytes, video_codec, audio_codec, path, state FROM segments;
  DROP TABLE segments;
  ALTER TABLE segments_v6 RENAME TO segments;
  CREATE INDEX segments_by_device_time ON segments (device_id, start_ms);
  CREATE INDEX segments_by_start ON segments (start_ms);
  CREATE UNIQUE INDEX segments_by_node_path ON segments (node_id, path);
  ALTER TABLE recording_gaps ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
  `,
];
