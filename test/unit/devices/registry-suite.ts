import { describe, expect, it } from 'vitest';
import type { Registry, TransferRow } from '../../../devices/index.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * What a registry implementation is opened with in the shared suite. `open()` gives a fresh,
 * empty registry; `connect(reg)` a second handle on the same registry, as another process
 * (the CLI, another node) would open it. The harness closes what it opened after each test.
 */
export interface RegistryHarness {
  /** `sameKeyAs`: the new registry hashes with that one's key (a copied key file). */
  open(options?: { now?: () => number; sameKeyAs?: Registry }): Promise<Registry>;
  connect(registry: Registry): Promise<Registry>;
}

const code = (c: string) => expect.objectContaining({ code: c });

/**
 * The store tests every implementation passes (docs/decisions.md D29): SQLite in
 * test/unit/devices/registry-sqlite.test.ts, PostgreSQL in test/integration/registry-postgres.test.ts.
 */
export function registrySuite(name: string, harness: () => RegistryHarness): void {
  describe(`${name}: devices`, () => {
    it('adds a device with a 256-bit secret', async () => {
      const reg = await harness().open();
      const { device, secret } = await reg.devices.add('front-door', 'Front door');
      expect(device).toMatchObject({
        id: 'front-door',
        name: 'Front door',
        online: false,
        lastSeenAt: null,
        revokedAt: null,
        secretGeneration: 1,
        recording: { mode: 'off', active: false, maxAgeHours: null },
      });
      expect(secret).toMatch(/^lkd_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
      expect(await reg.devices.get('front-door')).toEqual(device);
      expect(await reg.devices.get('nobody')).toBeUndefined();
      expect(await reg.devices.get('../etc')).toBeUndefined();
    });

    it('verifies secrets and tells the reasons apart', async () => {
      const reg = await harness().open();
      const { secret } = await reg.devices.add('cam1');
      expect(await reg.devices.verifySecret('cam1', secret)).toEqual({ ok: true, generation: 1 });
      expect(await reg.devices.verifySecret('cam1', `${secret}x`)).toEqual({
        ok: false,
        reason: 'wrong-secret',
      });
      expect(await reg.devices.verifySecret('nobody', secret)).toEqual({
        ok: false,
        reason: 'unknown-device',
      });
      expect(await reg.devices.verifySecret('../etc', secret)).toEqual({
        ok: false,
        reason: 'unknown-device',
      });
    });

    it('rejects bad ids, bad names and duplicates with codes', async () => {
      const reg = await harness().open();
      for (const bad of ['', 'Cam', 'cam/1', 'cam+', '#', '-cam', 'cam-', 'a'.repeat(65), '$sys']) {
        await expect(reg.devices.add(bad)).rejects.toThrowError(code('DEVICE_ID_INVALID'));
      }
      await expect(reg.devices.add('cam1', '\u0000')).rejects.toThrowError(code('DEVICE_NAME_INVALID'));
      await reg.devices.add('cam1');
      await expect(reg.devices.add('cam1')).rejects.toThrowError(code('DEVICE_EXISTS'));
      await expect(reg.devices.rotate('nope')).rejects.toThrowError(code('DEVICE_NOT_FOUND'));
      await expect(reg.devices.revoke('nope')).rejects.toThrowError(code('DEVICE_NOT_FOUND'));
      await expect(reg.devices.rename('nope', 'x')).rejects.toThrowError(code('DEVICE_NOT_FOUND'));
      await expect(reg.devices.require('nope')).rejects.toThrowError(code('DEVICE_NOT_FOUND'));
    });

    it('rotates: old secret dead, new one works, generation bumps, revocation lifted', async () => {
      const reg = await harness().open();
      const first = (await reg.devices.add('cam1')).secret;
      await reg.devices.revoke('cam1');
      expect(await reg.devices.verifySecret('cam1', first)).toEqual({ ok: false, reason: 'revoked' });
      expect(await reg.devices.credentialState('cam1')).toEqual({ generation: 1, revoked: true });
      const second = (await reg.devices.rotate('cam1')).secret;
      expect(second).not.toBe(first);
      expect(await reg.devices.verifySecret('cam1', first)).toEqual({ ok: false, reason: 'wrong-secret' });
      expect(await reg.devices.verifySecret('cam1', second)).toEqual({ ok: true, generation: 2 });
      expect(await reg.devices.credentialState('cam1')).toEqual({ generation: 2, revoked: false });
      expect(await reg.devices.credentialState('nope')).toBeUndefined();
    });

    it('renames, lists in id order and changes the recording policy by its rules', async () => {
      const reg = await harness().open();
      await reg.devices.add('cam2');
      await reg.devices.add('cam1');
      expect((await reg.devices.rename('cam1', '  Porch  ')).name).toBe('Porch');
      await expect(reg.devices.rename('cam1', ' ')).rejects.toThrowError(code('DEVICE_NAME_INVALID'));
      expect((await reg.devices.list()).map((d) => d.id)).toEqual(['cam1', 'cam2']);
      await expect(reg.devices.setRecording('cam1', { active: true })).rejects.toThrowError(
        code('RECORD_MODE_CONFLICT'),
      );
      let d = await reg.devices.setRecording('cam1', { mode: 'on-demand' });
      expect(d.recording).toEqual({ mode: 'on-demand', active: false, maxAgeHours: null });
      d = await reg.devices.setRecording('cam1', { active: true, maxAgeHours: 48 });
      expect(d.recording).toEqual({ mode: 'on-demand', active: true, maxAgeHours: 48 });
      d = await reg.devices.setRecording('cam1', { mode: 'continuous' });
      expect(d.recording).toEqual({ mode: 'continuous', active: false, maxAgeHours: 48 });
      d = await reg.devices.setRecording('cam1', { maxAgeHours: null });
      expect(d.recording.maxAgeHours).toBeNull();
      await expect(reg.devices.setRecording('cam1', { maxAgeHours: 0 })).rejects.toThrowError(
        code('RECORD_MAX_AGE_INVALID'),
      );
      await expect(reg.devices.setRecording('nope', { mode: 'off' })).rejects.toThrowError(
        code('DEVICE_NOT_FOUND'),
      );
    });

    it('deletes a device with its recordings or keeping them; a deleted (even revoked) id can be added again', async () => {
      const reg = await harness().open();
      const old = (await reg.devices.add('cam1', 'Porch')).secret;
      await reg.devices.add('cam2');
      await reg.devices.revoke('cam1');
      const a = await reg.recordings.open(segment('cam1', 1_000, 'cam1/a.mp4'));
      await reg.recordings.finish(a, { endMs: 2_000, durationMs: 1_000, bytes: 10 });
      await reg.recordings.open(segment('cam1', 3_000, 'cam1/b.mp4'));
      await reg.recordings.insertGap('cam1', 2_000, 3_000, 'camera-offline', 'node-a');
      await reg.recordings.open(segment('cam2', 1_000, 'cam2/a.mp4'));
      await reg.recordings.insertGap('cam2', 2_000, 3_000, 'camera-offline', 'node-a');

      const deleted = await reg.devices.delete('cam1', { recordings: 'delete' });
      expect(deleted.device).toMatchObject({ id: 'cam1', name: 'Porch' });
      expect(deleted.segments.map((s) => s.path)).toEqual(['cam1/a.mp4', 'cam1/b.mp4']);
      expect(await reg.devices.get('cam1')).toBeUndefined();
      expect(await reg.devices.credentialState('cam1')).toBeUndefined();
      expect(await reg.devices.verifySecret('cam1', old)).toEqual({ ok: false, reason: 'unknown-device' });
      expect(await reg.recordings.between('cam1', 0, 10_000)).toEqual([]);
      expect(await reg.recordings.gapsBetween('cam1', 0, 10_000)).toEqual([]);
      // Another device's recordings are untouched.
      expect(await reg.recordings.between('cam2', 0, 10_000)).toHaveLength(1);
      expect(await reg.recordings.gapsBetween('cam2', 0, 10_000)).toHaveLength(1);
      await expect(reg.devices.delete('cam1', { recordings: 'keep' })).rejects.toThrowError(
        code('DEVICE_NOT_FOUND'),
      );

      const again = await reg.devices.add('cam1', 'Porch again');
      expect(again.device).toMatchObject({ id: 'cam1', name: 'Porch again', revokedAt: null });
      expect(await reg.devices.verifySecret('cam1', again.secret)).toMatchObject({ ok: true });
      expect(await reg.devices.verifySecret('cam1', old)).toEqual({ ok: false, reason: 'wrong-secret' });

      const kept = await reg.devices.delete('cam2', { recordings: 'keep' });
      expect(kept.segments).toEqual([]);
      expect(await reg.devices.get('cam2')).toBeUndefined();
      expect((await reg.recordings.between('cam2', 0, 10_000)).map((s) => s.path)).toEqual(['cam2/a.mp4']);
      expect(await reg.recordings.gapsBetween('cam2', 0, 10_000)).toHaveLength(1);
      expect((await reg.devices.list()).map((d) => d.id)).toEqual(['cam1']);
    });

    it('records presence and resets it at start', async () => {
      let now = 1_000;
      const reg = await harness().open({ now: () => now });
      await reg.devices.add('cam1');
      now = 5_000;
      await reg.devices.markOnline('cam1');
      expect(await reg.devices.require('cam1')).toMatchObject({ online: true, lastSeenAt: 5_000 });
      await reg.devices.markOffline('cam1');
      expect(await reg.devices.require('cam1')).toMatchObject({ online: false, lastSeenAt: 5_000 });
      await reg.devices.markOnline('cam1');
      await reg.devices.markAllOffline();
      expect((await reg.devices.require('cam1')).online).toBe(false);
    });

    it('records a batch of presence changes in one call, each with its own time', async () => {
      const reg = await harness().open();
      await reg.devices.add('cam1');
      await reg.devices.add('cam2');
      await reg.devices.recordPresence([
        { id: 'cam1', online: true, at: 1000 },
        { id: 'cam2', online: false, at: 2000 },
        { id: 'gone', online: true, at: 3000 }, // deleted meanwhile: nothing to update, no error
      ]);
      expect(await reg.devices.require('cam1')).toMatchObject({ online: true, lastSeenAt: 1000 });
      expect(await reg.devices.require('cam2')).toMatchObject({ online: false, lastSeenAt: 2000 });
    });

    it('tells a watcher about devices added, rotated, revoked and re-policied through another connection', async () => {
      const h = harness();
      // The devices added before the watch are stamped well before it begins: a watch that reads
      // where the log stood by time (PostgreSQL) may tell an event of the very millisecond it began.
      let now = 1_000;
      const reg = await h.open({ now: () => now });
      await reg.devices.add('cam1');
      await reg.devices.add('cam2');
      await reg.devices.add('cam3');
      now = 2_000;
      const seen = new Map<string, Set<string>>();
      reg.watchCredentials((id, kinds) => {
        const all = seen.get(id) ?? new Set<string>();
        for (const kind of kinds) all.add(kind);
        seen.set(id, all);
      }, 20);
      const cli = await h.connect(reg); // what `lookout device rotate` (or another node) opens
      await cli.devices.rotate('cam1');
      await cli.devices.revoke('cam2');
      await cli.devices.setRecording('cam3', { mode: 'continuous' });
      await cli.devices.add('cam4');
      await cli.devices.add('cam5');
      await cli.devices.delete('cam5', { recordings: 'keep' });
      await waitFor(() => seen.size >= 5 && (seen.get('cam5')?.has('deleted') ?? false), {
        timeoutMs: 20_000,
        what: 'device events',
      });
      expect(Object.fromEntries([...seen].map(([id, kinds]) => [id, [...kinds]]))).toEqual({
        cam1: ['rotated'],
        cam2: ['revoked'],
        cam3: ['recording'],
        cam4: ['added'],
        cam5: ['added', 'deleted'],
      });
    });

    it('stops telling a watcher once stopped, and close() is idempotent', async () => {
      const h = harness();
      const reg = await h.open();
      await reg.devices.add('cam1');
      const seen: string[] = [];
      const stop = reg.watchCredentials((id) => seen.push(id), 20);
      const other = reg.watchCredentials((id) => seen.push(`other:${id}`), 20);
      stop();
      await reg.devices.rotate('cam1');
      // The other watch, polled on the same schedule, sees it: the stopped one had its chance.
      await waitFor(() => seen.includes('other:cam1'), { timeoutMs: 20_000, what: 'the other watch' });
      other();
      expect(seen).toEqual(['other:cam1']);
      await reg.close();
      await reg.close();
    });

    it('survives reopening: migrations are applied once and data persists', async () => {
      const h = harness();
      const reg = await h.open();
      const { secret } = await reg.devices.add('cam1');
      const again = await h.connect(reg);
      await reg.close();
      expect((await again.devices.verifySecret('cam1', secret)).ok).toBe(true);
      expect((await again.devices.list()).map((d) => d.id)).toEqual(['cam1']);
    });
  });

  describe(`${name}: API tokens`, () => {
    it('creates, verifies, lists and revokes tokens', async () => {
      const reg = await harness().open();
      const { token, info } = await reg.tokens.create('laptop');
      expect(token).toMatch(/^lkt_[A-Za-z0-9_-]{43}$/);
      expect(await reg.tokens.verify(token)).toMatchObject({ id: info.id, name: 'laptop' });
      expect(await reg.tokens.verify(`${token}x`)).toBeUndefined();
      expect(await reg.tokens.verify('Bearer nonsense')).toBeUndefined();
      expect(await reg.tokens.verify(`lkt_${'a'.repeat(200)}`)).toBeUndefined();
      expect(await reg.tokens.list()).toHaveLength(1);
      expect((await reg.tokens.list())[0]!.lastUsedAt).not.toBeNull();
      expect(await reg.tokens.isActive(info.id)).toBe(true);
      await reg.tokens.revoke(info.id);
      expect(await reg.tokens.verify(token)).toBeUndefined();
      expect(await reg.tokens.isActive(info.id)).toBe(false);
      expect(await reg.tokens.isActive('nope')).toBe(false);
      expect((await reg.tokens.require(info.id)).revokedAt).not.toBeNull();
      await expect(reg.tokens.revoke('nope')).rejects.toThrowError(code('TOKEN_NOT_FOUND'));
    });

    it('does not accept a device secret as an API token or the reverse', async () => {
      const reg = await harness().open();
      const { secret } = await reg.devices.add('cam1');
      const { token } = await reg.tokens.create();
      expect(await reg.tokens.verify(secret)).toBeUndefined();
      expect((await reg.devices.verifySecret('cam1', token)).ok).toBe(false);
    });
  });

  describe(`${name}: users, grants and sessions`, () => {
    it('adds users with scrypt-hashed passwords and checks them', async () => {
      const reg = await harness().open();
      expect(await reg.users.count()).toBe(0);
      const ann = await reg.users.add('ann', 'admin', 'correct horse');
      expect(ann).toMatchObject({ name: 'ann', role: 'admin', passwordGeneration: 1 });
      await reg.users.add('bob', 'viewer', 'battery staple');
      expect((await reg.users.list()).map((u) => u.name)).toEqual(['ann', 'bob']);
      expect(await reg.users.count()).toBe(2);
      expect(await reg.users.verifyPassword('ann', 'correct horse')).toEqual(ann);
      expect(await reg.users.verifyPassword('ann', 'correct horsE')).toBeUndefined();
      expect(await reg.users.verifyPassword('nobody', 'correct horse')).toBeUndefined();
      expect(await reg.users.verifyPassword('ann', '')).toBeUndefined();
      await expect(reg.users.add('ann', 'viewer', 'whatever1')).rejects.toThrowError(code('USER_EXISTS'));
      await expect(reg.users.add('../x', 'viewer', 'whatever1')).rejects.toThrowError(
        code('USER_NAME_INVALID'),
      );
      await expect(reg.users.add('carl', 'viewer', 'short')).rejects.toThrowError(code('PASSWORD_INVALID'));
      await expect(reg.users.setPassword('nobody', 'whatever1')).rejects.toThrowError(code('USER_NOT_FOUND'));
    });

    it('keeps per-camera grants; both rights off removes the grant', async () => {
      const reg = await harness().open();
      await reg.users.add('bob', 'viewer', 'battery staple');
      await reg.users.grant('bob', 'cam1', { live: true, recordings: false });
      await reg.users.grant('bob', 'cam2', { live: true, recordings: true });
      await reg.users.grant('bob', 'cam1', { live: true, recordings: true });
      expect(await reg.users.grants('bob')).toEqual([
        { user: 'bob', camera: 'cam1', live: true, recordings: true },
        { user: 'bob', camera: 'cam2', live: true, recordings: true },
      ]);
      expect(await reg.users.grant('bob', 'cam2', { live: false, recordings: false })).toBeUndefined();
      expect((await reg.users.grants('bob')).map((g) => g.camera)).toEqual(['cam1']);
      await expect(reg.users.grant('nobody', 'cam1', { live: true, recordings: true })).rejects.toThrowError(
        code('USER_NOT_FOUND'),
      );
    });

    it('signs in with a session whose cookie is stored only hashed; ends it on sign-out, password change or removal', async () => {
      // The other handle runs on the real clock; this one starts there and moves on.
      let now = Date.now();
      const h = harness();
      const reg = await h.open({ now: () => now });
      await reg.users.add('bob', 'viewer', 'battery staple');
      const signed = await reg.users.createSession('bob');
      expect(signed.cookie).toMatch(/^lks_[A-Za-z0-9_-]{43}$/);
      expect(signed.csrf.length).toBeGreaterThanOrEqual(32);
      const found = await reg.users.session(signed.cookie);
      expect(found).toMatchObject({
        user: { name: 'bob' },
        csrf: signed.csrf,
        session: { id: signed.session.id },
      });
      // One character changed in the middle (the last one carries only 4 bits: changing it may decode the same).
      const at = 10;
      const forged = `${signed.cookie.slice(0, at)}${signed.cookie[at] === 'x' ? 'y' : 'x'}${signed.cookie.slice(at + 1)}`;
      expect(await reg.users.session(forged)).toBeUndefined();
      expect(await reg.users.session('nonsense')).toBeUndefined();
      expect(await reg.users.sessionById(signed.session.id)).toMatchObject({ user: 'bob' });
      // Seen from another handle (the CLI in another process).
      const other = await h.connect(reg);
      expect(await other.users.sessionById(signed.session.id)).toBeDefined();

      await reg.users.endSession(signed.session.id);
      expect(await reg.users.session(signed.cookie)).toBeUndefined();

      const second = await reg.users.createSession('bob');
      await other.users.setPassword('bob', 'new password');
      expect(await reg.users.session(second.cookie)).toBeUndefined();
      expect((await reg.users.get('bob'))!.passwordGeneration).toBe(2);

      // Changing one's own password keeps the session that did it; the others end.
      const mine = await reg.users.createSession('bob');
      const elsewhere = await reg.users.createSession('bob');
      await other.users.setPassword('bob', 'newer password', { keepSession: mine.session.id });
      expect((await reg.users.session(mine.cookie))?.session.id).toBe(mine.session.id);
      expect(await reg.users.session(elsewhere.cookie)).toBeUndefined();
      await reg.users.endSession(mine.session.id);

      // Idle too long: the session ends.
      const third = await reg.users.createSession('bob');
      now += 25 * 3600_000;
      expect(await reg.users.session(third.cookie)).toBeUndefined();

      const fourth = await reg.users.createSession('bob');
      const { info } = await reg.tokens.create('bob-script', { user: 'bob' });
      await other.users.remove('bob');
      expect(await reg.users.session(fourth.cookie)).toBeUndefined();
      expect(await reg.users.sessionById(fourth.session.id)).toBeUndefined();
      expect(await reg.users.get('bob')).toBeUndefined();
      expect(await reg.tokens.isActive(info.id)).toBe(false);
    });

    it('creates tokens limited to a user, cameras and reading', async () => {
      const reg = await harness().open();
      const legacy = await reg.tokens.create('old');
      expect(legacy.info).toMatchObject({ user: null, cameras: null, readOnly: false });
      const { token } = await reg.tokens.create('script', {
        user: 'bob',
        cameras: ['cam2', 'cam1'],
        readOnly: true,
      });
      expect(await reg.tokens.verify(token)).toMatchObject({
        user: 'bob',
        cameras: ['cam1', 'cam2'],
        readOnly: true,
      });
      await expect(reg.tokens.create('bad', { cameras: ['../x'] })).rejects.toThrowError(
        code('TOKEN_SCOPE_INVALID'),
      );
      await expect(reg.tokens.create('bad', { cameras: [] })).rejects.toThrowError(
        code('TOKEN_SCOPE_INVALID'),
      );
    });
  });

  describe(`${name}: recordings index`, () => {
    it('indexes, finishes, finds and deletes segments', async () => {
      const reg = await harness().open();
      const store = reg.recordings;
      const a = await store.open(segment('cam1', 1_000, 'cam1/a.mp4'));
      const b = await store.open(segment('cam1', 5_000, 'cam1/b.mp4'));
      const c = await store.insertComplete({
        deviceId: 'cam2',
        node: 'node-a',
        startMs: 2_000,
        endMs: 3_000,
        durationMs: 1_000,
        bytes: 700,
        videoCodec: 'h264',
        audioCodec: 'opus',
        path: 'cam2/c.mp4',
      });
      expect(new Set([a, b, c]).size).toBe(3);
      expect(await store.get(a)).toMatchObject({ state: 'writing', endMs: null, bytes: 0 });
      await store.finish(a, { endMs: 5_000, durationMs: 4_000, bytes: 1_234 });
      expect(await store.get(a)).toEqual({
        id: a,
        deviceId: 'cam1',
        startMs: 1_000,
        endMs: 5_000,
        durationMs: 4_000,
        bytes: 1_234,
        videoCodec: 'h264',
        audioCodec: null,
        path: 'cam1/a.mp4',
        state: 'complete',
        node: 'node-a',
      });
      expect((await store.byPath('node-a', 'cam2/c.mp4'))?.id).toBe(c);
      expect(await store.byPath('node-a', 'nope.mp4')).toBeUndefined();
      expect(await store.get(999_999)).toBeUndefined();
      // [4000, 4500) overlaps a (1000-5000) only; b is open-ended (still writing) from 5000.
      expect((await store.between('cam1', 4_000, 4_500)).map((s) => s.id)).toEqual([a]);
      expect((await store.between('cam1', 0, 1e13)).map((s) => s.id)).toEqual([a, b]);
      expect((await store.between('cam1', 9_000_000, 9_000_001)).map((s) => s.id)).toEqual([b]);
      expect((await store.inState('writing', 'node-a')).map((s) => s.id)).toEqual([b]);
      expect((await store.all()).map((s) => s.id)).toEqual([a, b, c]);
      expect((await store.expired('cam1', 6_000, 'node-a')).map((s) => s.id)).toEqual([a]);
      expect((await store.oldest(10, 'node-a')).map((s) => s.id)).toEqual([a, c]);
      expect((await store.oldest(1, 'node-a')).map((s) => s.id)).toEqual([a]);
      expect(await store.totalBytes('node-a')).toBe(1_934);
      expect(await store.lastEnd('cam1')).toBe(5_000);
      expect(await store.lastEnd('cam3')).toBeNull();
      await store.markMissing(c);
      expect(await store.get(c)).toMatchObject({ state: 'missing', bytes: 0 });
      await store.delete(a);
      expect(await store.get(a)).toBeUndefined();
      expect((await store.devices()).sort()).toEqual(['cam1', 'cam2']);
      await expect(store.open(segment('cam1', 9, 'cam1/b.mp4'))).rejects.toThrow();
    });

    it('opens, closes, inserts, lists and prunes gaps', async () => {
      const reg = await harness().open();
      const store = reg.recordings;
      const open = await store.openGap('cam1', 1_000, 'camera-offline', 'node-a');
      await store.insertGap('cam1', 100, 200, 'server-down', 'node-a');
      await store.openGap('cam2', 50, 'disk-full', 'node-a');
      expect((await store.openGaps('node-a')).map((g) => [g.deviceId, g.reason]).sort()).toEqual([
        ['cam1', 'camera-offline'],
        ['cam2', 'disk-full'],
      ]);
      await store.closeGap(open, 500); // before its start: closed at its start, never negative
      await store.closeGap(open, 9_000); // already closed: unchanged
      expect(await store.gapsBetween('cam1', 0, 10_000)).toEqual([
        {
          id: expect.any(Number),
          deviceId: 'cam1',
          startMs: 100,
          endMs: 200,
          reason: 'server-down',
          node: 'node-a',
        },
        {
          id: open,
          deviceId: 'cam1',
          startMs: 1_000,
          endMs: 1_000,
          reason: 'camera-offline',
          node: 'node-a',
        },
      ]);
      expect(await store.devices()).toContain('cam2');
      await store.pruneGaps('cam1', 500);
      expect((await store.gapsBetween('cam1', 0, 10_000)).map((g) => g.id)).toEqual([open]);
      // Every reason the recorder writes is accepted.
      for (const reason of ['recorder-fault', 'media-worker-died', 'server-stopped'] as const) {
        await store.insertGap('cam3', 1, 2, reason, 'node-a');
      }
      expect(await store.gapsBetween('cam3', 0, 10)).toHaveLength(3);
    });

    it("names each row's node: listing sees every node's, recovery and retention ask for their own (D40)", async () => {
      const h = harness();
      const reg = await h.open();
      const store = reg.recordings;
      const a1 = await store.insertComplete({
        deviceId: 'cam1',
        node: 'node-a',
        startMs: 1_000,
        endMs: 2_000,
        durationMs: 1_000,
        bytes: 100,
        videoCodec: 'h264',
        audioCodec: null,
        path: 'cam1/s-00000.mp4',
      });
      // Another node wrote a file of the same name for the same camera: each node's path is its own.
      const b1 = await store.insertComplete({
        deviceId: 'cam1',
        node: 'node-b',
        startMs: 2_000,
        endMs: 3_000,
        durationMs: 1_000,
        bytes: 40,
        videoCodec: 'h264',
        audioCodec: null,
        path: 'cam1/s-00000.mp4',
      });
      const a2 = await store.open(segment('cam1', 3_000, 'cam1/s-00001.mp4', 'node-a'));
      const b2 = await store.open(segment('cam1', 3_500, 'cam1/s-00001.mp4', 'node-b'));
      await store.openGap('cam1', 500, 'server-stopped', 'node-a');
      await store.openGap('cam1', 600, 'camera-offline', 'node-b');
      await expect(store.open(segment('cam1', 4_000, 'cam1/s-00001.mp4', 'node-b'))).rejects.toThrow();

      // Read from another connection, as another node does.
      const other = await h.connect(reg);
      expect((await other.recordings.between('cam1', 0, 1e13)).map((s) => [s.id, s.node])).toEqual([
        [a1, 'node-a'],
        [b1, 'node-b'],
        [a2, 'node-a'],
        [b2, 'node-b'],
      ]);
      expect((await other.recordings.get(b1))?.node).toBe('node-b');
      expect((await store.byPath('node-a', 'cam1/s-00000.mp4'))?.id).toBe(a1);
      expect((await store.byPath('node-b', 'cam1/s-00000.mp4'))?.id).toBe(b1);
      expect(await store.byPath('node-c', 'cam1/s-00000.mp4')).toBeUndefined();
      expect((await store.inState('writing', 'node-a')).map((s) => s.id)).toEqual([a2]);
      expect((await store.inState('writing', 'node-b')).map((s) => s.id)).toEqual([b2]);
      expect((await store.inState('complete', 'node-b')).map((s) => s.id)).toEqual([b1]);
      expect((await store.expired('cam1', 10_000, 'node-a')).map((s) => s.id)).toEqual([a1]);
      expect((await store.expired('cam1', 10_000, 'node-b')).map((s) => s.id)).toEqual([b1]);
      expect((await store.oldest(10, 'node-b')).map((s) => s.id)).toEqual([b1]);
      expect(await store.totalBytes('node-a')).toBe(100);
      expect(await store.totalBytes('node-b')).toBe(40);
      expect(await store.totalBytes('node-c')).toBe(0);
      expect((await store.openGaps('node-a')).map((g) => [g.reason, g.node])).toEqual([
        ['server-stopped', 'node-a'],
      ]);
      expect((await other.recordings.gapsBetween('cam1', 0, 1e13)).map((g) => g.node)).toEqual([
        'node-a',
        'node-b',
      ]);
      expect((await store.openGaps('node-c')).length).toBe(0);
    });
  });

  describe(`${name}: export and import`, () => {
    it('exports every row and imports them into an empty registry, keeping ids and hashes', async () => {
      const h = harness();
      const source = await h.open();
      const { secret } = await source.devices.add('cam1', 'One');
      await source.devices.add('cam2');
      await source.devices.revoke('cam2');
      await source.devices.setRecording('cam1', { mode: 'continuous', maxAgeHours: 12 });
      const { token } = await source.tokens.create('laptop');
      await source.users.add('ann', 'viewer', 'correct horse');
      await source.users.grant('ann', 'cam1', { live: true, recordings: false });
      const { token: scoped } = await source.tokens.create('ann-script', {
        user: 'ann',
        cameras: ['cam1'],
        readOnly: true,
      });
      const seg = await source.recordings.open(segment('cam1', 1_000, 'cam1/a.mp4'));
      await source.recordings.openGap('cam1', 5_000, 'camera-offline', 'node-b');
      const rows: TransferRow[] = [];
      await source.transfer.exportRows((row) => {
        rows.push(row);
      });
      expect(rows.map((r) => r.kind)).toEqual([
        'device',
        'device',
        'token',
        'token',
        'user',
        'segment',
        'gap',
      ]);

      const target = await h.open({ sameKeyAs: source });
      const counts: number[] = [];
      const imported = await target.transfer.importRows(
        (async function* () {
          yield* rows;
        })(),
        (n) => counts.push(n),
      );
      expect(imported).toBe(7);
      expect(counts.at(-1)).toBe(7);
      expect(await target.users.list()).toEqual(await source.users.list());
      expect(await target.users.verifyPassword('ann', 'correct horse')).toMatchObject({ name: 'ann' });
      expect(await target.users.grants('ann')).toEqual(await source.users.grants('ann'));
      expect(await target.tokens.verify(scoped)).toMatchObject({
        user: 'ann',
        cameras: ['cam1'],
        readOnly: true,
      });
      expect(await target.devices.list()).toEqual(await source.devices.list());
      expect((await target.devices.verifySecret('cam1', secret)).ok).toBe(true);
      expect(await target.tokens.verify(token)).toMatchObject({ name: 'laptop' });
      expect(await target.recordings.all()).toEqual(await source.recordings.all());
      expect(await target.recordings.openGaps('node-b')).toEqual(await source.recordings.openGaps('node-b'));
      // New rows after an import get fresh ids, not ones the import used.
      const next = await target.recordings.open(segment('cam1', 9_000, 'cam1/b.mp4'));
      expect(next).toBeGreaterThan(seg);
      // A registry that holds anything is refused.
      await expect(
        target.transfer.importRows(
          (async function* () {
            yield* rows;
          })(),
        ),
      ).rejects.toThrowError(code('REGISTRY_NOT_EMPTY'));
    });
  });

  function segment(deviceId: string, startMs: number, path: string, node = 'node-a') {
    return { deviceId, node, startMs, path, videoCodec: 'h264', audioCodec: null };
  }
}
