import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTurnService, MEDIA_TURN_USER, TURN_SECRET_FILE } from '../../../cli/turn-service.js';
import { loadConfig } from '../../../config/index.js';
import { LookoutError } from '../../../core/errors.js';
import { publicTurnUrls } from '../../../edge-config/index.js';
import { verifyTurnCredentials } from '../../../turn/index.js';
import { testLogger } from '../../helpers/log.js';
import { tempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const NOW = 1_767_225_600_000;
const SECRET = 'a-shared-secret-of-some-length';

/** `embeddedPort` null: no embedded server runs. */
function service(flags: Record<string, unknown>, embeddedPort: number | null = 3478) {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  const config = loadConfig({ flags: { dataDir: tmp.dir, ...flags } });
  const make = () =>
    createTurnService(
      {
        turn: config.turn,
        mqtt: config.mqtt,
        dataDir: tmp.dir,
        embeddedPort: embeddedPort ?? undefined,
        now: () => NOW,
      },
      testLogger(),
    );
  return { dir: tmp.dir, config, make };
}

describe('TURN service: ICE servers in offers', () => {
  it('issues REST credentials scoped to the device, valid for credentialTtlSeconds', () => {
    const turn = service({
      'turn.mode': 'external',
      'turn.secret': SECRET,
      'turn.urls': ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'],
      'turn.credentialTtlSeconds': 600,
    }).make();
    const [server, ...rest] = turn.deviceIceServers('front-door', 3);
    expect(rest).toEqual([]);
    expect(server!.urls).toEqual(['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349']);
    // The device's secret generation is part of the username (so a rotate voids it).
    expect(server!.username).toBe(`${NOW / 1000 + 600}:front-door:3`);
    expect(verifyTurnCredentials(SECRET, server!.username!, server!.credential!, NOW)).toBe(true);
    expect(verifyTurnCredentials(SECRET, server!.username!, server!.credential!, NOW + 601_000)).toBe(false);
    // The media node takes its own relay candidate from an external server, under its own user.
    const [media] = turn.mediaIceServers();
    expect(media!.username).toBe(`${NOW / 1000 + 600}:${MEDIA_TURN_USER}`);
    expect(verifyTurnCredentials(SECRET, media!.username!, media!.credential!, NOW)).toBe(true);
  });

  it('embedded: derives UDP then TCP URLs from externalAddress, else mqtt.publicUrl, else the bound host', () => {
    const urls = (flags: Record<string, unknown>) => {
      const { config } = service(flags);
      return publicTurnUrls(config.turn, config.mqtt);
    };
    expect(
      urls({ 'turn.externalAddress': '203.0.113.5', 'mqtt.publicUrl': 'mqtt://cams.example.com:1883' }),
    ).toEqual(['turn:203.0.113.5:3478?transport=udp', 'turn:203.0.113.5:3478?transport=tcp']);
    expect(urls({ 'mqtt.publicUrl': 'mqtts://cams.example.com:8883', 'turn.port': 3479 })).toEqual([
      'turn:cams.example.com:3479?transport=udp',
      'turn:cams.example.com:3479?transport=tcp',
    ]);
    expect(urls({ 'turn.externalAddress': '2001:db8::5' })[0]).toBe('turn:[2001:db8::5]:3478?transport=udp');
    expect(urls({ 'turn.host': '192.0.2.10' })[1]).toBe('turn:192.0.2.10:3478?transport=tcp');
    // Bound to every interface and nothing configured: some address of this machine, never a wildcard.
    expect(urls({})[0]).toMatch(/^turn:(?!0\.0\.0\.0)[^:]+:3478\?transport=udp$/);
    expect(urls({ 'turn.mode': 'off', 'turn.externalAddress': '203.0.113.5' })).toEqual([]);
  });

  it('embedded: generates the secret once into <dataDir>/turn.secret (0600) and reuses it', () => {
    const turn = service({ 'turn.externalAddress': '203.0.113.5' });
    const first = turn.make();
    const file = path.join(turn.dir, TURN_SECRET_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.secret!.length).toBeGreaterThanOrEqual(32);
    expect(turn.make().secret).toBe(first.secret);
    const [server] = first.deviceIceServers('cam1', 1);
    expect(verifyTurnCredentials(first.secret!, server!.username!, server!.credential!, NOW)).toBe(true);
    // Same host: the media node needs no relay candidate of its own.
    expect(first.mediaIceServers()).toEqual([]);
  });

  it('embedded: a configured secret wins over the file; a malformed file is an error naming it', () => {
    const turn = service({ 'turn.secret': SECRET });
    expect(turn.make().secret).toBe(SECRET);
    const broken = service({});
    writeFileSync(path.join(broken.dir, TURN_SECRET_FILE), 'short\n');
    expect(() => broken.make()).toThrow(LookoutError);
    expect(() => broken.make()).toThrow(/turn\.secret/);
  });

  it('embedded: the URLs name the port the server bound (turn.port 0 asks for any)', () => {
    const bound = service({ 'turn.port': 0, 'turn.externalAddress': '203.0.113.5' }, 40123).make();
    expect(bound.urls).toEqual([
      'turn:203.0.113.5:40123?transport=udp',
      'turn:203.0.113.5:40123?transport=tcp',
    ]);
  });

  it('hands out nothing when off, or when embedded but no embedded server runs', () => {
    const off = service({ 'turn.mode': 'off' }).make();
    expect(off.deviceIceServers('cam1', 1)).toEqual([]);
    expect(off.secret).toBeUndefined();
    const notRunning = service({ 'turn.externalAddress': '203.0.113.5' }, null).make();
    expect(notRunning.deviceIceServers('cam1', 1)).toEqual([]);
    expect(notRunning.mediaIceServers()).toEqual([]);
  });
});
