import { LookoutError } from '../core/errors.js';
import type { RecordingPolicy, RecordMode } from './types.js';

const NAME_MAX = 200;

/** A device's display name, trimmed; throws DEVICE_NAME_INVALID. */
export function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > NAME_MAX || /\p{Cc}/u.test(trimmed)) {
    throw new LookoutError('DEVICE_NAME_INVALID', `device name must be 1-${NAME_MAX} printable characters`, {
      name,
    });
  }
  return trimmed;
}

export function deviceExists(id: string): LookoutError {
  return new LookoutError(
    'DEVICE_EXISTS',
    `device '${id}' already exists (use 'device rotate ${id}' for a new secret)`,
    { id },
  );
}

export function deviceNotFound(id: string): LookoutError {
  return new LookoutError('DEVICE_NOT_FOUND', `no device '${id}'`, { id });
}

export function tokenNotFound(id: string): LookoutError {
  return new LookoutError('TOKEN_NOT_FOUND', `no API token '${id}'`, { id });
}

/**
 * The policy a change leads to from `current`: switching to `on-demand` or `off` clears an
 * active on-demand recording; `active` applies only to `on-demand`. Throws
 * RECORD_MODE_CONFLICT or RECORD_MAX_AGE_INVALID.
 */
export function nextRecordingPolicy(
  id: string,
  current: RecordingPolicy,
  change: { mode?: RecordMode; active?: boolean; maxAgeHours?: number | null },
): RecordingPolicy {
  const mode = change.mode ?? current.mode;
  if (change.active !== undefined && mode !== 'on-demand') {
    throw new LookoutError(
      'RECORD_MODE_CONFLICT',
      `device '${id}' records '${mode}'; start and stop apply to 'on-demand' (set it with --record on-demand)`,
      { id, mode },
    );
  }
  const maxAge = change.maxAgeHours === undefined ? current.maxAgeHours : change.maxAgeHours;
  if (maxAge !== null && (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 87_600)) {
    throw new LookoutError('RECORD_MAX_AGE_INVALID', 'retention must be 1-87600 hours', { maxAge });
  }
  const active = mode === 'on-demand' && (change.active ?? (mode === current.mode && current.active));
  return { mode, active, maxAgeHours: maxAge };
}

/** last_used_at is bookkeeping: refresh it at most this often, not on every request. */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;
/** Token strings longer than this are refused before hashing. */
export const TOKEN_MAX_LENGTH = 128;
/** Device events older than this are pruned from the event log. */
export const RETAIN_EVENTS_MS = 24 * 3600_000;

/** An import refused: the target registry is not empty. */
export function registryNotEmpty(rows: number): LookoutError {
  return new LookoutError(
    'REGISTRY_NOT_EMPTY',
    `the target registry already holds ${rows} rows; import only into an empty registry`,
    { rows },
  );
}

/** A user name: 1-64 letters, digits, `.`, `_`, `-`, `@`. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Throws USER_NAME_INVALID unless `name` is a valid user name. */
export function checkUserName(name: string): string {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new LookoutError(
      'USER_NAME_INVALID',
      'a user name is 1-64 letters, digits, ".", "_", "-" or "@", starting with a letter or digit',
      { name },
    );
  }
  return name;
}

export function userNotFound(name: string): LookoutError {
  return new LookoutError('USER_NOT_FOUND', `no user '${name}'`, { name });
}

export function userExists(name: string): LookoutError {
  return new LookoutError('USER_EXISTS', `user '${name}' already exists`, { name });
}

/** A session ends this long after sign-in, whatever happens. */
export const SESSION_MAX_AGE_MS = 7 * 24 * 3600_000;
/** A session unused for this long ends. */
export const SESSION_IDLE_MS = 24 * 3600_000;
/** last_seen_at of a session is refreshed at most this often. */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;
/** Cameras a token may be limited to, at most. */
export const TOKEN_CAMERAS_MAX = 256;
