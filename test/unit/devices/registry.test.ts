import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Registry } from '../../../devices/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait-for.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function registry(dataDir?: string): { reg: Registry; dataDir: string } {
  let dir = dataDir;
  if (!dir) {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    dir = tmp.dir;
  }
  const reg = openRegistry({ dataDir: dir });
  cleanups.push(() => reg.close());
  return { reg, dataDir: dir };
}

describe('device registry', () => {
  it('adds a device with a 256-bit secret and stores only a keyed hash', () => {
    const { reg, dataDir } = registry();
    const { device, secret } = reg.devices.add('front-door', 'Front door');
    expect(device).toMatchObject({
      id: 'front-door',
      name: 'Front door',
      online: false,
      lastSeenAt: null,
      revokedAt: null,
    });
    expect(secret).toMatch(/^lkd_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
    const raw = new Database(path.join(dataDir, 'lookout.db'), { readonly: true });
    const row = raw.prepare('SELECT * FROM devices').get() as Record<string, unknown>;
    raw.close();
    expect(JSON.stringify(row)).not.toContain(secret.slice(4));
    expect((row.secret_hash as Buffer).length).toBe(32);
    expect(statSync(path.join(dataDir, 'registry.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dataDir, 'lookout.db')).subarray(0, 15).toString()).toBe('SQLite format 3');
  });

  it('verifies secrets and tells the reasons apart', () => {
    const { reg } = registry();
    const { secret } = reg.devices.add('cam1');
    expect(reg.devices.verifySecret('cam1', secret)).toEqual({ ok: true, generation: 1 });
    expect(reg.devices.verifySecret('cam1', `${secret}x`)).toEqual({ ok: false, reason: 'wrong-secret' });
    expect(reg.devices.verifySecret('nobody', secret)).toEqual({ ok: false, reason: 'unknown-device' });
    expect(reg.devices.verifySecret('../etc', secret)).toEqual({ ok: false, reason: 'unknown-device' });
  });

  it('rejects bad ids, bad names and duplicates with codes', () => {
    const { reg } = registry();
    for (const bad of ['', 'Cam', 'cam/1', 'cam+', '#', '-cam', 'cam-', 'a'.repeat(65), '$sys']) {
      expect(() => reg.devices.add(bad)).toThrowError(expect.objectContaining({ code: 'DEVICE_ID_INVALID' }));
    }
    expect(() => reg.devices.add('cam1', '\u0000')).toThrowError(
      expect.objectContaining({ code: 'DEVICE_NAME_INVALID' }),
    );
    reg.devices.add('cam1');
    expect(() => reg.devices.add('cam1')).toThrowError(expect.objectContaining({ code: 'DEVICE_EXISTS' }));
    expect(() => reg.devices.rotate('nope')).toThrowError(
      expect.objectContaining({ code: 'DEVICE_NOT_FOUND' }),
    );
  });

  it('rotates: old secret dead, new one works, generation bumps, revocation lifted', () => {
    const { reg } = registry();
    const first = reg.devices.add('cam1').secret;
    reg.devices.revoke('cam1');
    expect(reg.devices.verifySecret('cam1', first)).toEqual({ ok: false, reason: 'revoked' });
    const second = reg.devices.rotate('cam1').secret;
    expect(second).not.toBe(first);
    expect(reg.devices.verifySecret('cam1', first)).toEqual({ ok: false, reason: 'wrong-secret' });
    expect(reg.devices.verifySecret('cam1', second)).toEqual({ ok: true, generation: 2 });
    expect(reg.devices.credentialState('cam1')).toEqual({ generation: 2, revoked: false });
  });

  it('records presence and resets it at start', () => {
    const { reg } = registry();
    reg.devices.add('cam1');
    reg.devices.markOnline('cam1');
    expect(reg.devices.require('cam1')).toMatchObject({ online: true, lastSeenAt: expect.any(Number) });
    reg.devices.markAllOffline();
    expect(reg.devices.require('cam1').online).toBe(false);
  });

  it('records a batch of presence changes in one call, each with its own time', () => {
    const { reg } = registry();
    reg.devices.add('cam1');
    reg.devices.add('cam2');
    reg.devices.recordPresence([
      { id: 'cam1', online: true, at: 1000 },
      { id: 'cam2', online: false, at: 2000 },
      { id: 'gone', online: true, at: 3000 }, // deleted meanwhile: nothing to update, no error
    ]);
    expect(reg.devices.require('cam1')).toMatchObject({ online: true, lastSeenAt: 1000 });
    expect(reg.devices.require('cam2')).toMatchObject({ online: false, lastSeenAt: 2000 });
  });

  it('tells a watcher about rotations made through another connection (another process)', async () => {
    const { reg, dataDir } = registry();
    reg.devices.add('cam1');
    reg.devices.add('cam2');
    const seen: string[] = [];
    reg.watchCredentials((id) => seen.push(id), 20);
    const cli = registry(dataDir).reg; // what `lookout device rotate` opens
    cli.devices.rotate('cam1');
    cli.devices.revoke('cam2');
    await waitFor(() => seen.length >= 2, { what: 'credential events' });
    expect(seen.sort()).toEqual(['cam1', 'cam2']);
  });

  it('survives reopening: migrations are applied once and data persists', () => {
    const { reg, dataDir } = registry();
    const { secret } = reg.devices.add('cam1');
    reg.close();
    const again = registry(dataDir).reg;
    expect(again.devices.verifySecret('cam1', secret).ok).toBe(true);
    expect(again.devices.list().map((d) => d.id)).toEqual(['cam1']);
  });
});

describe('API tokens', () => {
  it('creates, verifies, lists and revokes tokens, storing only hashes', () => {
    const { reg } = registry();
    const { token, info } = reg.tokens.create('laptop');
    expect(token).toMatch(/^lkt_[A-Za-z0-9_-]{43}$/);
    expect(reg.tokens.verify(token)).toMatchObject({ id: info.id, name: 'laptop' });
    expect(reg.tokens.verify(`${token}x`)).toBeUndefined();
    expect(reg.tokens.verify('Bearer nonsense')).toBeUndefined();
    expect(reg.tokens.list()).toHaveLength(1);
    expect(reg.tokens.list()[0]!.lastUsedAt).not.toBeNull();
    reg.tokens.revoke(info.id);
    expect(reg.tokens.verify(token)).toBeUndefined();
    expect(() => reg.tokens.revoke('nope')).toThrowError(
      expect.objectContaining({ code: 'TOKEN_NOT_FOUND' }),
    );
  });

  it('does not accept a device secret as an API token or the reverse', () => {
    const { reg } = registry();
    const { secret } = reg.devices.add('cam1');
    const { token } = reg.tokens.create();
    expect(reg.tokens.verify(secret)).toBeUndefined();
    expect(reg.devices.verifySecret('cam1', token).ok).toBe(false);
  });
});
