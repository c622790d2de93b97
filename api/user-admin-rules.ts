import { LookoutError } from '../core/errors.js';
import type { Role, User } from '../devices/index.js';

/**
 * What an admin may not do to users over HTTP (D38): remove themselves (they would be signed
 * out mid-action, and with the last admin nobody could manage the server from a browser), or
 * remove or demote the last admin. Pure: the route passes the users as they are now.
 */

/** Throws USER_SELF_REMOVE or LAST_ADMIN unless `actor` (a user name; null for a token without one) may remove `target`. */
export function checkRemoval(actor: string | null, target: User, users: readonly User[]): void {
  if (actor !== null && actor === target.name) {
    throw new LookoutError('USER_SELF_REMOVE', 'you cannot remove yourself: another admin can', {
      name: target.name,
    });
  }
  if (target.role === 'admin' && admins(users) <= 1) {
    throw new LookoutError('LAST_ADMIN', `'${target.name}' is the last admin: make another admin first`, {
      name: target.name,
    });
  }
}

/** Throws LAST_ADMIN when the change would leave no admin. */
export function checkRoleChange(target: User, role: Role, users: readonly User[]): void {
  if (target.role === 'admin' && role !== 'admin' && admins(users) <= 1) {
    throw new LookoutError('LAST_ADMIN', `'${target.name}' is the last admin: make another admin first`, {
      name: target.name,
    });
  }
}

function admins(users: readonly User[]): number {
  return users.filter((u) => u.role === 'admin').length;
}
