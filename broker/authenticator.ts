import { timingSafeEqual } from 'node:crypto';
import type { VerifyResult } from '../devices/index.js';
import type { LoginBackoff } from './login-backoff.js';
import { canPublish, type Identity } from './topics.js';

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 that a login can end with. */
export const CONNACK = {
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

export type ConnackCode = (typeof CONNACK)[keyof typeof CONNACK];

/** What the authenticator needs of the registry. */
export interface DeviceVerifier {
  verifySecret(id: string, secret: string): Promise<VerifyResult>;
}

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** The peer's address, for back-off. */
  address: string;
  /** Topic of the will the client asked for, if any. */
  willTopic: string | undefined;
}

export type AuthOutcome =
  | { ok: true; identity: Identity }
  | { ok: false; returnCode: ConnackCode; reason: string; retryAfterMs?: number };

/** Service accounts (the media node and other server-side clients) log in as `$service:<name>`. */
export const SERVICE_USERNAME_PREFIX = '$service:';
const SERVICE_NAME = /^[a-z0-9-]{1,32}$/;
const MAX_PASSWORD_BYTES = 256;

/**
 * The CONNECT decision as a list of named steps, each able to refuse:
 * back-off -> credentials -> client id -> will. Socket-free; asynchronous only because the
 * registry answers the credential step asynchronously.
 */
export class Authenticator {
  constructor(
    private readonly deps: {
      devices: DeviceVerifier;
      backoff: LoginBackoff;
      serviceSecret: string;
      topicPrefix: string;
    },
  ) {}

  /** Per address, the attempt being decided: attempts from one address are decided one after another. */
  readonly #deciding = new Map<string, Promise<unknown>>();

  /**
   * Decides a CONNECT. Attempts from one address run one after the other, so the back-off sees
   * each failure before the next attempt from there is checked, however long the registry takes
   * to answer (docs/decisions.md D29); attempts from different addresses run side by side.
   */
  authenticate(attempt: ConnectAttempt): Promise<AuthOutcome> {
    const previous = this.#deciding.get(attempt.address);
    const run = () => this.#authenticate(attempt);
    const decided = previous ? previous.then(run, run) : run();
    this.#deciding.set(attempt.address, decided);
    const forget = () => {
      if (this.#deciding.get(attempt.address) === decided) this.#deciding.delete(attempt.address);
    };
    decided.then(forget, forget);
    return decided;
  }

  async #authenticate(attempt: ConnectAttempt): Promise<AuthOutcome> {
    const username = attempt.username ?? '';
    const gate = this.deps.backoff.check(attempt.address, username);
    if (!gate.allowed) {
      return {
        ok: false,
        returnCode: CONNACK.NOT_AUTHORIZED,
        reason: 'too many failed logins',
        retryAfterMs: gate.retryAfterMs,
      };
    }
    const outcome = await this.#decide(attempt, username);
    // Only credential failures feed the back-off; a wrong client id with a good secret is a bug, not an attack.
    if (!outcome.ok && outcome.returnCode === CONNACK.BAD_USERNAME_OR_PASSWORD) {
      this.deps.backoff.recordFailure(attempt.address, username);
    } else if (outcome.ok) {
      this.deps.backoff.recordSuccess(attempt.address, username);
    }
    return outcome;
  }

  async #decide(attempt: ConnectAttempt, username: string): Promise<AuthOutcome> {
    const password = attempt.password;
    if (!username || !password || password.length === 0 || password.length > MAX_PASSWORD_BYTES) {
      return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'missing or oversized username/password');
    }
    const identity = username.startsWith(SERVICE_USERNAME_PREFIX)
      ? this.#service(username, password)
      : await this.#device(username, password.toString('utf8'));
    if (!identity.ok) return identity;
    const expected = identity.identity.kind === 'device' ? identity.identity.deviceId : username;
    // [MQTT-3.1.3-8]: the server may reject a client identifier; ours must name the device.
    if (
      identity.identity.kind === 'device'
        ? attempt.clientId !== expected
        : !attempt.clientId.startsWith(expected)
    ) {
      return refuse(CONNACK.IDENTIFIER_REJECTED, `client id must be '${expected}'`);
    }
    if (
      attempt.willTopic !== undefined &&
      !canPublish(this.deps.topicPrefix, identity.identity, attempt.willTopic)
    ) {
      return refuse(
        CONNACK.NOT_AUTHORIZED,
        `will topic '${attempt.willTopic}' is outside what this client may publish`,
      );
    }
    return identity;
  }

  async #device(id: string, secret: string): Promise<AuthOutcome> {
    const result = await this.deps.devices.verifySecret(id, secret);
    if (result.ok)
      return { ok: true, identity: { kind: 'device', deviceId: id, generation: result.generation } };
    if (result.reason === 'revoked') return refuse(CONNACK.NOT_AUTHORIZED, 'device is revoked');
    return refuse(
      CONNACK.BAD_USERNAME_OR_PASSWORD,
      result.reason === 'unknown-device' ? 'unknown device' : 'wrong secret',
    );
  }

  #service(username: string, password: Buffer): AuthOutcome {
    const name = username.slice(SERVICE_USERNAME_PREFIX.length);
    const expected = Buffer.from(this.deps.serviceSecret, 'utf8');
    if (
      !SERVICE_NAME.test(name) ||
      password.length !== expected.length ||
      !timingSafeEqual(password, expected)
    ) {
      return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad service credentials');
    }
    return { ok: true, identity: { kind: 'service', name } };
  }
}

function refuse(returnCode: ConnackCode, reason: string): AuthOutcome {
  return { ok: false, returnCode, reason };
}
