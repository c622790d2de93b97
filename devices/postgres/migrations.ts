import { LookoutError } from '../../core/errors.js';
import type { PgPool } from './pool.js';

/**
 * The PostgreSQL schema, in order; `lookout_schema.version` records how many have run.
 * Same tables and meaning as the SQLite registry (devices/sqlite/migrations.ts), written
 * for PostgreSQL: BYTEA hashes, BIGINT epoch milliseconds, BOOLEAN flags, and a NOTIFY
 * channel for device events. Never edit a released migration: append a new one.
 */
export const postgresMigrations: readonly string[] = [
  // 1: the registry as of SQLite migration 4.
  `
  CREATE TABLE devices (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    secret_hash          BYTEA NOT NULL,
    secret_generation    INTEGER NOT NULL DEFAULT 1,
    created_at           BIGINT NOT NULL,
    last_seen_at         BIGINT,
    online               BOOLEAN NOT NULL DEFAULT false,
    revoked_at           BIGINT,
    record_mode          TEXT NOT NULL DEFAULT 'off' CHECK (record_mode IN ('off', 'continuous', 'on-demand')),
    record_active        BOOLEAN NOT NULL DEFAULT false,
    record_max_age_hours INTEGER
  );

  CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
  );

  -- Appended on every add/rotate/revoke/policy change, with a NOTIFY on lookout_device_events,
  -- so every node (and the CLI's changes) reach each running server (devices/postgres/event-watch.ts).
  CREATE TABLE device_events (
    seq       BIGSERIAL PRIMARY KEY,
    device_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    at        BIGINT NOT NULL
  );
  CREATE INDEX device_events_by_at ON device_events (at);

  CREATE TABLE segments (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT NOT NULL,
    start_ms    BIGINT NOT NULL,
    end_ms      BIGINT,
    duration_ms BIGINT,
    bytes       BIGINT NOT NULL DEFAULT 0,
    video_codec TEXT,
    audio_codec TEXT,
    path        TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL CHECK (state IN ('writing', 'complete', 'missing'))
  );
  CREATE INDEX segments_by_device_time ON segments (device_id, start_ms);
  CREATE INDEX segments_by_start ON segments (start_ms);
  CREATE INDEX segments_by_state ON segments (state);

  CREATE TABLE recording_gaps (
    id        BIGSERIAL PRIMARY KEY,
    device_id TEXT NOT NULL,
    start_ms  BIGINT NOT NULL,
    end_ms    BIGINT,
    reason    TEXT NOT NULL CHECK (reason IN
      ('camera-offline', 'recorder-fault', 'disk-full', 'media-worker-died', 'server-stopped', 'server-down'))
  );
  CREATE INDEX gaps_by_device_time ON recording_gaps (device_id, start_ms);

  -- registry facts: the fingerprint of the key secrets are hashed with (D29).
  CREATE TABLE registry_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: as SQLite migration 5: users, grants, sessions, token scopes (issue 12, D34).
  `
  CREATE TABLE users (
    name                TEXT PRIMARY KEY,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash       TEXT NOT NULL,
    password_generation INTEGER NOT NULL DEFAULT 1,
    created_at          BIGINT NOT NULL
  );

  CREATE TABLE user_grants (
    user_name  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    live       BOOLEAN NOT NULL,
    recordings BOOLEAN NOT NULL,
    PRIMARY KEY (user_name, device_id)
  );

  CREATE TABLE user_sessions (
    id           TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL,
    cookie_hash  BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
  );
  CREATE INDEX user_sessions_by_user ON user_sessions (user_name);

  ALTER TABLE api_tokens ADD COLUMN user_name TEXT;
  ALTER TABLE api_tokens ADD COLUMN cameras TEXT;
  ALTER TABLE api_tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT false;
  `,
  // 3: as SQLite migration 6: the node holding each segment's file, the node that recorded each gap
  // (issue 11, D40). Rows written before have no known holder (''). Two nodes may name a file alike:
  // a path is unique per node.
  `
  ALTER TABLE segments ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE recording_gaps ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE segments DROP CONSTRAINT segments_path_key;
  CREATE UNIQUE INDEX segments_by_node_path ON segments (node_id, path);
  CREATE INDEX segments_by_node_start ON segments (node_id, start_ms);
  CREATE INDEX gaps_open_by_node ON recording_gaps (node_id) WHERE end_ms IS NULL;
  `,
];

/** Any number will do, as long as it is Lookout's alone: two nodes starting together migrate once. */
const MIGRATION_LOCK = 0x4c6f6f6b; // "Look"

/**
 * Applies the migrations not yet applied, each in its own transaction under an advisory lock.
 * Resolves to the number applied now. Rejects with REGISTRY_TOO_NEW when the database was
 * migrated by a newer Lookout.
 */
export async function migratePostgres(pool: PgPool): Promise<number> {
  let applied = 0;
  for (;;) {
    const more = await pool.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS lookout_schema (version INTEGER NOT NULL)');
      const rows = (await client.query<{ version: number }>('SELECT version FROM lookout_schema')).rows;
      const current = rows[0]?.version ?? 0;
      if (current > postgresMigrations.length) {
        throw new LookoutError(
          'REGISTRY_TOO_NEW',
          `registry schema version ${current} is newer than this Lookout knows (${postgresMigrations.length}); upgrade Lookout`,
          { current, known: postgresMigrations.length },
        );
      }
      if (current === postgresMigrations.length) return false;
      await client.query(postgresMigrations[current]!);
      if (rows.length === 0) await client.query('INSERT INTO lookout_schema (version) VALUES (1)');
      else await client.query('UPDATE lookout_schema SET version = $1', [current + 1]);
      return true;
    });
    if (!more) return applied;
    applied++;
  }
}
