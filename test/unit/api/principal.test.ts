import { describe, expect, it } from 'vitest';
import { may, type Principal, seesCamera, tokenPrincipal } from '../../../api/principal.js';
import { sessionCookie, sessionDocument } from '../../../api/routes-session.js';

const base: Principal = {
  key: 's:x',
  kind: 'session',
  name: 'ann',
  user: 'ann',
  role: 'viewer',
  grants: new Map([
    ['cam1', { live: true, recordings: false }],
    ['cam2', { live: false, recordings: true }],
  ]),
  cameras: null,
  readOnly: false,
};
const token = {
  id: 't1',
  name: 'script',
  createdAt: 0,
  lastUsedAt: null,
  revokedAt: null,
  user: null,
  cameras: null,
  readOnly: false,
};

describe('rights (D34)', () => {
  it('gives a viewer exactly its grants, per right and camera', () => {
    expect(may(base, 'live', 'cam1')).toBe(true);
    expect(may(base, 'recordings', 'cam1')).toBe(false);
    expect(may(base, 'live', 'cam2')).toBe(false);
    expect(may(base, 'recordings', 'cam2')).toBe(true);
    expect(may(base, 'live', 'cam3')).toBe(false);
    expect(may(base, 'live')).toBe(false); // a camera right without a camera is refused
    expect(may(base, 'admin')).toBe(false);
    expect(may(base, 'view')).toBe(true);
    expect([seesCamera(base, 'cam1'), seesCamera(base, 'cam2'), seesCamera(base, 'cam3')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('limits a token to its user, its cameras and to reading; a legacy token is an admin', () => {
    const legacy = tokenPrincipal(token, undefined, [])!;
    expect(legacy).toMatchObject({ key: 't:t1', role: 'admin', name: 'script' });
    expect(may(legacy, 'admin')).toBe(true);
    expect(may(legacy, 'live', 'any-camera')).toBe(true);

    const limited = tokenPrincipal({ ...token, cameras: ['cam1'], readOnly: true }, undefined, [])!;
    expect(may(limited, 'live', 'cam1')).toBe(true);
    expect(may(limited, 'recordings', 'cam1')).toBe(true);
    expect(may(limited, 'live', 'cam2')).toBe(false);
    expect(may(limited, 'admin')).toBe(false);

    const user = { name: 'ann', role: 'viewer' as const, createdAt: 0, passwordGeneration: 1 };
    const grants = [{ user: 'ann', camera: 'cam1', live: true, recordings: false }];
    const anns = tokenPrincipal({ ...token, user: 'ann', cameras: ['cam1', 'cam9'] }, user, grants)!;
    expect(may(anns, 'live', 'cam1')).toBe(true);
    expect(may(anns, 'recordings', 'cam1')).toBe(false); // never more than its user
    expect(may(anns, 'live', 'cam9')).toBe(false);
    // A token whose user is gone resolves to nobody.
    expect(tokenPrincipal({ ...token, user: 'ann' }, undefined, [])).toBeUndefined();
    expect(sessionDocument(anns)).toEqual({
      kind: 'token',
      user: 'ann',
      name: 'ann',
      role: 'viewer',
      readOnly: false,
      cameras: [{ id: 'cam1', live: true, recordings: false }],
    });
  });

  it('sets the session cookie HttpOnly and SameSite=Lax, Secure under HTTPS', () => {
    expect(sessionCookie('lks_x', 60, false)).toBe(
      'lookout_session=lks_x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60',
    );
    expect(sessionCookie('lks_x', 60, true)).toBe(
      'lookout_session=lks_x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure',
    );
  });
});
