import type { DeviceStore } from './stores.js';
import type { CredentialState, Device } from './types.js';

/**
 * The registered, non-revoked devices and their secret generations, held in memory for the
 * parts that must answer at once (the TURN server's allocation checks, the media node's
 * `deviceExists`, ICE servers per device) while the registry answers asynchronously.
 *
 * Filled by `load()`, kept fresh by `refresh(id)` on every device event (added, rotated,
 * revoked: the registry's event watch) and by `verified(id, generation)` when the broker
 * accepts a login, which happens before the device can ask for anything else.
 */
export class ActiveDevices {
  readonly #generations = new Map<string, number>();
  /** Per device, the number of the latest refresh: an older answer arriving later is dropped. */
  readonly #refreshes = new Map<string, number>();
  #refreshCount = 0;

  /**
   * `readNow`: a synchronous reader of the registry (SQLite), which then answers every question
   * exactly as the database stands, with nothing cached; without it, the copy described above.
   */
  constructor(
    private readonly store: Pick<DeviceStore, 'list' | 'credentialState'>,
    private readonly readNow?: { credentialState(id: string): CredentialState | undefined },
  ) {}

  /** Reads every device once (at start). */
  async load(): Promise<void> {
    if (this.readNow) return;
    for (const device of await this.store.list()) {
      if (device.revokedAt === null) this.#generations.set(device.id, device.secretGeneration);
    }
  }

  /** The device's secret generation when it is registered and not revoked. */
  generation(id: string): number | undefined {
    if (this.readNow) {
      const state = this.readNow.credentialState(id);
      return state && !state.revoked ? state.generation : undefined;
    }
    return this.#generations.get(id);
  }

  has(id: string): boolean {
    return this.generation(id) !== undefined;
  }

  /** A login just succeeded under `generation`. */
  verified(id: string, generation: number): void {
    this.#refreshes.set(id, ++this.#refreshCount);
    this.#generations.set(id, generation);
  }

  /** A change made by this process, with the device as it is now. */
  changed(device: Device): void {
    this.#refreshes.set(device.id, ++this.#refreshCount);
    if (device.revokedAt === null) this.#generations.set(device.id, device.secretGeneration);
    else this.#generations.delete(device.id);
  }

  /** A device this process deleted. */
  forget(id: string): void {
    this.#refreshes.set(id, ++this.#refreshCount);
    this.#generations.delete(id);
  }

  /** Reads one device again after a change. */
  async refresh(id: string): Promise<void> {
    const mine = ++this.#refreshCount;
    this.#refreshes.set(id, mine);
    const state = await this.store.credentialState(id);
    if (this.#refreshes.get(id) !== mine) return;
    this.#refreshes.delete(id);
    if (!state || state.revoked) this.#generations.delete(id);
    else this.#generations.set(id, state.generation);
  }
}

/**
 * `store` with every change made through it applied to `active` before the change resolves:
 * what this process adds, rotates or revokes is known at once to the parts reading `active`
 * (changes by other processes arrive through the registry's event watch).
 */
export function trackChanges(store: DeviceStore, active: ActiveDevices): DeviceStore {
  const note = <T extends { device: Device } | Device>(result: T): T => {
    active.changed('device' in result ? result.device : result);
    return result;
  };
  return {
    add: async (id, name) => note(await store.add(id, name)),
    get: (id) => store.get(id),
    require: (id) => store.require(id),
    list: () => store.list(),
    rename: (id, name) => store.rename(id, name),
    setRecording: (id, change) => store.setRecording(id, change),
    rotate: async (id) => note(await store.rotate(id)),
    revoke: async (id) => note(await store.revoke(id)),
    delete: async (id, options) => {
      const deleted = await store.delete(id, options);
      active.forget(id);
      return deleted;
    },
    verifySecret: (id, secret) => store.verifySecret(id, secret),
    credentialState: (id) => store.credentialState(id),
    markOnline: (id) => store.markOnline(id),
    markOffline: (id) => store.markOffline(id),
    recordPresence: (changes) => store.recordPresence(changes),
    markAllOffline: () => store.markAllOffline(),
  };
}
