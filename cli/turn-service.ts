import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MqttConfig, TurnConfig } from '../config/index.js';
import { LookoutError } from '../core/errors.js';
import { createFileOnce } from '../core/file-once.js';
import type { Logger } from '../core/log.js';
import { publicTurnUrls } from '../edge-config/index.js';
import type { IceServer } from '../media/index.js';
import { issueTurnCredentials } from '../turn/index.js';

export const TURN_SECRET_FILE = 'turn.secret';

/** The TURN REST user the media node's own allocations are issued to; device ids cannot start with `$`. */
export const MEDIA_TURN_USER = '$media';

/**
 * What the rest of the server needs to know about TURN: the shared secret (for the embedded
 * server), the URLs cameras are told, and fresh per-session ICE servers.
 */
export interface TurnService {
  readonly mode: TurnConfig['mode'];
  /** The REST API secret; undefined when `mode` is `off`. */
  readonly secret: string | undefined;
  /** TURN URLs handed out (empty when nothing is handed out). */
  readonly urls: readonly string[];
  /**
   * ICE servers for one session of `deviceId`: the URLs with credentials scoped to that device
   * and to its current secret `generation` (a rotate makes them useless on the embedded server).
   */
  deviceIceServers(deviceId: string, generation: number): IceServer[];
  /**
   * ICE servers for the media node's own upstream peer connections: only in `external` mode
   * (the TURN server may be far away, so the media node takes a relay candidate too). The
   * embedded server runs on the media node's host and relays to its host candidates directly.
   */
  mediaIceServers(): IceServer[];
}

/**
 * Builds the TURN service from `config.turn`. `embeddedPort` is the port the embedded TURN
 * server bound (it may differ from `turn.port` when that is 0): without one, `embedded` mode
 * hands out nothing, since URLs that lead nowhere only delay every camera's ICE gathering
 * until its TURN request times out.
 */
export function createTurnService(
  options: {
    turn: TurnConfig;
    mqtt: MqttConfig;
    dataDir: string;
    embeddedPort?: number;
    now?: () => number;
  },
  log: Logger,
): TurnService {
  const { turn } = options;
  const now = options.now ?? Date.now;
  const secret = turn.mode === 'off' ? undefined : (turn.secret ?? loadOrCreateTurnSecret(options.dataDir));
  const embeddedRunning = options.embeddedPort !== undefined;
  const handedOut = turn.mode === 'external' || (turn.mode === 'embedded' && embeddedRunning);
  const urls = handedOut
    ? publicTurnUrls({ ...turn, port: options.embeddedPort ?? turn.port }, options.mqtt)
    : [];
  if (turn.mode === 'embedded' && !embeddedRunning)
    log.warn('turn.mode is embedded but no embedded TURN server runs: cameras get no TURN servers');
  else if (urls.length > 0) log.info({ mode: turn.mode, urls }, 'TURN servers handed to cameras');
  const serversFor = (user: string, generation?: number): IceServer[] => {
    if (urls.length === 0 || !secret) return [];
    const { username, credential } = issueTurnCredentials({
      secret,
      deviceId: user,
      generation,
      ttlSeconds: turn.credentialTtlSeconds,
      nowMs: now(),
    });
    return [{ urls: [...urls], username, credential }];
  };
  return {
    mode: turn.mode,
    secret,
    urls,
    deviceIceServers: (deviceId, generation) => serversFor(deviceId, generation),
    mediaIceServers: () => (turn.mode === 'external' ? serversFor(MEDIA_TURN_USER) : []),
  };
}

/**
 * Loads `<dataDir>/turn.secret`, creating it (mode 0600, 256 random bits) on first use, so
 * credentials issued before a restart stay valid after it. Creation is atomic (temp file
 * hard-linked into place), like the registry key.
 */
export function loadOrCreateTurnSecret(dataDir: string): string {
  const file = path.join(dataDir, TURN_SECRET_FILE);
  const existing = readSecret(file);
  if (existing) return existing;
  createFileOnce(file, `${randomBytes(32).toString('base64url')}\n`);
  const secret = readSecret(file);
  if (!secret) throw new LookoutError('TURN_SECRET_INVALID', `TURN secret ${file} is empty`, { file });
  return secret;
}

function readSecret(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (text.length < 16 || /\s/.test(text)) {
    throw new LookoutError(
      'TURN_SECRET_INVALID',
      `TURN secret ${file} is malformed (expected at least 16 characters, no spaces)`,
      { file },
    );
  }
  return text;
}
