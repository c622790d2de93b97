import type { Logger } from '../core/log.js';
import type { CameraLeases } from './leases.js';
import type { NodeInfo } from './node-info.js';
import { DemandLinger, recorderPlan } from './placement-choice.js';

/** What placement needs of this node's media plane. */
export interface PlacedMedia {
  /** Cameras something here needs now (a viewer, the recorder's feed). */
  camerasInUse(): ReadonlySet<string>;
  isOnline(cameraId: string): boolean;
  /** Closes the camera here now, its viewers and feed included. */
  evict(cameraId: string, reason: 'lease-released' | 'lease-lost'): number;
}

/** What placement needs of this node's recording service (its `holds` gate reads the leases). */
export interface PlacedRecordings {
  /** Cameras whose policy says record. */
  wantedCameras(): ReadonlySet<string>;
  /** The camera's recorder here, if one runs. */
  recorder(cameraId: string): unknown;
  /** Starts or stops the camera's recorder to match its policy and the lease. Never rejects. */
  refresh(cameraId: string): Promise<void>;
}

/** Where a viewer of a camera goes. */
export type ViewerPlace =
  | { at: 'here' }
  | { at: 'node'; node: string; http: string }
  | { at: 'unavailable'; node: string };

export interface CameraPlacementOptions {
  leases: Pick<
    CameraLeases,
    'acquire' | 'release' | 'isHeld' | 'isConfirmed' | 'held' | 'list' | 'on' | 'off'
  >;
  /** The live nodes (Redis's node registry). */
  nodes: () => Promise<NodeInfo[]>;
  selfId: string;
  media: PlacedMedia;
  recordings: PlacedRecordings;
  /** A held camera without demand for this long is given up (media.lingerMs). */
  lingerMs: number;
  /** How often leases linger out and recorded cameras are reconciled (the heartbeat). */
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * A recorded camera seen free this many reconciliations in a row is taken by whichever node sees
 * it, not only by the node the plan names (that node may be stuck or not know the policy yet).
 */
const FREE_TICKS_BEFORE_ANY_NODE = 3;

/**
 * Camera placement on a cluster node (D39): each camera's media session lives on the node that
 * holds its lease. A viewer's demand takes a free lease on the node it arrived at; the recorder's
 * demand is placed by load: every heartbeat each node reconciles the recorded cameras, takes the
 * free ones the plan gives it (placement-choice.ts) and runs a recorder for those it holds. A
 * camera held without demand for `lingerMs` is closed here and released; a lease lost (another
 * node holds it, or Redis could not confirm it in time) ends the recorder and the media here.
 */
export class CameraPlacement {
  readonly #o: CameraPlacementOptions;
  readonly #now: () => number;
  readonly #linger: DemandLinger;
  readonly #timer: NodeJS.Timeout;
  /** Releases under way: a viewer arriving meanwhile waits, then takes the lease again. */
  readonly #releasing = new Map<string, Promise<void>>();
  /** Recorded cameras seen free, by consecutive reconciliations. */
  readonly #freeSeen = new Map<string, number>();
  readonly #onLost = (camera: string) => void this.#lost(camera);
  #ticking: Promise<void> | undefined;
  #closed = false;

  constructor(options: CameraPlacementOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#linger = new DemandLinger(options.lingerMs);
    options.leases.on('lost', this.#onLost);
    this.#timer = setInterval(() => void this.tick(), options.intervalMs);
    this.#timer.unref();
  }

  /** Whether this node holds the camera (synchronous: what the recorder's gate reads). */
  holds(camera: string): boolean {
    return this.#o.leases.isHeld(camera);
  }

  /**
   * Where a viewer of `camera` goes: here when this node holds it or takes it now (no node did),
   * else the holder's public HTTP address (`unavailable` when the holder is not live: its lease
   * expires by itself). A camera that is not online is answered `here`, where the WHEP service
   * says so as on a single host, without taking its lease. Rejects with REDIS_UNAVAILABLE.
   */
  async routeViewer(camera: string): Promise<ViewerPlace> {
    const { leases, media } = this.#o;
    while (this.#releasing.has(camera)) await this.#releasing.get(camera);
    // Held and confirmed: here. Held but unconfirmed (Redis unreachable): what flows goes on, but
    // a new viewer waits for Redis to say this node still holds it (acquire rejects meanwhile).
    if (leases.isConfirmed(camera)) {
      this.#linger.claimed(camera, this.#now());
      return { at: 'here' };
    }
    if (!media.isOnline(camera) && !leases.isHeld(camera)) return { at: 'here' };
    const { holder, mine } = await leases.acquire(camera);
    if (mine) {
      this.#taken(camera, 'viewer');
      return { at: 'here' };
    }
    const node = (await this.#o.nodes()).find((n) => n.id === holder);
    return node?.http ? { at: 'node', node: holder, http: node.http } : { at: 'unavailable', node: holder };
  }

  /** One reconciliation now: lingered-out cameras released, recorded cameras placed. Never rejects. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    const { leases, media } = this.#o;
    for (const camera of this.#linger.observe(leases.held(), media.camerasInUse(), this.#now()))
      await this.#release(camera);
    try {
      await this.#reconcileRecorders();
    } catch (err) {
      this.#o.log.debug({ err: (err as Error).message }, 'recorded cameras not reconciled this time');
    }
  }

  async #reconcileRecorders(): Promise<void> {
    const { leases, recordings, selfId } = this.#o;
    const wanted = recordings.wantedCameras();
    for (const camera of [...this.#freeSeen.keys()]) if (!wanted.has(camera)) this.#freeSeen.delete(camera);
    for (const camera of wanted)
      if (leases.isHeld(camera) !== (recordings.recorder(camera) !== undefined))
        void recordings.refresh(camera);
    const elsewhere = [...wanted].filter((camera) => !leases.isHeld(camera));
    if (elsewhere.length === 0 || this.#closed) return;
    const [held, nodes] = await Promise.all([leases.list(), this.#o.nodes()]);
    const holders = new Set(held.map((l) => l.cameraId));
    const free = elsewhere.filter((camera) => !holders.has(camera));
    for (const camera of this.#freeSeen.keys()) if (!free.includes(camera)) this.#freeSeen.delete(camera);
    // A node's cameras are counted from the leases as Redis has them now, not from its last
    // heartbeat: what another node took a moment ago counts at once (its CPU is the heartbeat's).
    const counts = new Map<string, number>();
    for (const { holder } of held) counts.set(holder, (counts.get(holder) ?? 0) + 1);
    const loads = nodes.map((n) => ({ id: n.id, load: { ...n.load, cameras: counts.get(n.id) ?? 0 } }));
    const planned = new Set(recorderPlan(free, loads, selfId));
    for (const camera of free) {
      const seen = (this.#freeSeen.get(camera) ?? 0) + 1;
      this.#freeSeen.set(camera, seen);
      if (!planned.has(camera) && seen < FREE_TICKS_BEFORE_ANY_NODE) continue;
      if (this.#closed) return;
      const { mine } = await leases.acquire(camera);
      if (!mine) continue;
      this.#freeSeen.delete(camera);
      this.#taken(camera, 'recorder');
    }
  }

  /** The camera's lease was just taken here: its demand counts from now; its recorder starts if it is recorded. */
  #taken(camera: string, by: 'viewer' | 'recorder'): void {
    this.#linger.claimed(camera, this.#now());
    this.#o.log.info({ camera, by }, 'camera placed on this node');
    if (this.#o.recordings.wantedCameras().has(camera)) void this.#o.recordings.refresh(camera);
  }

  /** Nothing needed the camera for the linger time: closed here, then its lease released. */
  async #release(camera: string): Promise<void> {
    const releasing = (async () => {
      this.#o.media.evict(camera, 'lease-released');
      try {
        await this.#o.leases.release(camera);
        this.#o.log.info({ camera }, 'camera released by this node (no demand)');
      } catch (err) {
        // Redis away: the lease is no longer renewed and expires by itself.
        this.#o.log.warn({ camera, err: (err as Error).message }, 'camera lease not released; it expires');
      }
    })();
    this.#releasing.set(camera, releasing);
    await releasing;
    this.#releasing.delete(camera);
  }

  /** Another node holds the camera now, or may: its recorder stops here, then its media ends. */
  async #lost(camera: string): Promise<void> {
    this.#linger.forget(camera);
    await this.#o.recordings.refresh(camera);
    const viewers = this.#o.media.evict(camera, 'lease-lost');
    this.#o.log.warn({ camera, viewers }, 'camera lease lost: its media session here ended');
  }

  /** Stops reconciling (the leases are released by the cluster node's close). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#o.leases.off('lost', this.#onLost);
    await this.#ticking;
  }
}
