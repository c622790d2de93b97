import { LookoutError } from '../core/errors.js';
import { isDeviceId } from './device-id.js';
import { checkUserName, TOKEN_CAMERAS_MAX } from './device-rules.js';
import type { ApiToken, TokenScope } from './types.js';

/** The token columns both stores read (times as epoch ms; `read_only` 0/1 or boolean). */
export interface TokenRowBase {
  id: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  user_name: string | null;
  cameras: string | null;
  read_only: number | boolean;
}

export const TOKEN_COLUMNS = 'id, name, created_at, last_used_at, revoked_at, user_name, cameras, read_only';

/** A scope as stored: user name (checked), cameras as a JSON array (checked ids), read-only flag. */
export function scopeColumns(scope: TokenScope = {}): {
  user: string | null;
  cameras: string | null;
  readOnly: boolean;
} {
  const cameras = scope.cameras;
  if (cameras !== undefined) {
    if (cameras.length === 0 || cameras.length > TOKEN_CAMERAS_MAX || !cameras.every(isDeviceId)) {
      throw new LookoutError(
        'TOKEN_SCOPE_INVALID',
        `a token's cameras are 1-${TOKEN_CAMERAS_MAX} valid device ids`,
        { cameras: cameras.slice(0, 8) },
      );
    }
  }
  return {
    user: scope.user === undefined ? null : checkUserName(scope.user),
    cameras: cameras === undefined ? null : JSON.stringify([...new Set(cameras)].sort()),
    readOnly: scope.readOnly ?? false,
  };
}

export function toApiToken(row: TokenRowBase): ApiToken {
  let cameras: string[] | null = null;
  if (row.cameras !== null) {
    try {
      const parsed: unknown = JSON.parse(row.cameras);
      // A malformed list limits the token to nothing rather than to everything.
      cameras = Array.isArray(parsed) ? parsed.filter((c): c is string => typeof c === 'string') : [];
    } catch {
      cameras = [];
    }
  }
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    user: row.user_name,
    cameras,
    readOnly: row.read_only === true || row.read_only === 1,
  };
}
