import { describe, expect, it } from 'vitest';
import { setupUrl } from '../../../api/first-admin-setup.js';
import { checkRemoval, checkRoleChange } from '../../../api/user-admin-rules.js';
import type { Role, User } from '../../../devices/index.js';

const user = (name: string, role: Role): User => ({ name, role, createdAt: 0, passwordGeneration: 1 });
const code = (fn: () => void) => {
  try {
    fn();
    return 'allowed';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('user administration rules (D38)', () => {
  const root = user('root', 'admin');
  const ann = user('ann', 'viewer');
  const eve = user('eve', 'admin');

  it('never lets a user remove themselves, even with other admins', () => {
    expect(code(() => checkRemoval('root', root, [root, eve, ann]))).toBe('USER_SELF_REMOVE');
    expect(code(() => checkRemoval('ann', ann, [root, ann]))).toBe('USER_SELF_REMOVE');
  });

  it('removes another user, or another admin while one stays', () => {
    expect(code(() => checkRemoval('root', ann, [root, ann]))).toBe('allowed');
    expect(code(() => checkRemoval('root', eve, [root, eve, ann]))).toBe('allowed');
  });

  it('refuses to remove the last admin, also for a token that is no user', () => {
    expect(code(() => checkRemoval(null, root, [root, ann]))).toBe('LAST_ADMIN');
    expect(code(() => checkRemoval(null, ann, [root, ann]))).toBe('allowed');
  });

  it('refuses to demote the last admin; demotes one of two; promotes anyone', () => {
    expect(code(() => checkRoleChange(root, 'viewer', [root, ann]))).toBe('LAST_ADMIN');
    expect(code(() => checkRoleChange(root, 'admin', [root, ann]))).toBe('allowed');
    expect(code(() => checkRoleChange(eve, 'viewer', [root, eve]))).toBe('allowed');
    expect(code(() => checkRoleChange(ann, 'admin', [root, ann]))).toBe('allowed');
    expect(code(() => checkRoleChange(ann, 'viewer', [root, ann]))).toBe('allowed');
  });

  it('prints a setup link a browser on this machine can open', () => {
    expect(setupUrl({ host: '0.0.0.0', port: 8080, tls: false, code: 'abc' })).toBe(
      'http://localhost:8080/#setup=abc',
    );
    expect(setupUrl({ host: '::', port: 8443, tls: true, code: 'abc' })).toBe(
      'https://localhost:8443/#setup=abc',
    );
    expect(setupUrl({ host: '127.0.0.1', port: 1, tls: false, code: 'x' })).toBe(
      'http://127.0.0.1:1/#setup=x',
    );
    expect(setupUrl({ host: '::1', port: 1, tls: false, code: 'x' })).toBe('http://[::1]:1/#setup=x');
  });
});
