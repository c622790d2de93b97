import type { NodeLoad } from './node-info.js';

/**
 * Which of the recorded cameras nobody holds this node should take now (D39): each free camera,
 * in id order, goes to the node with the fewest cameras counting those given out before it in
 * the same plan (then the least CPU, then the id), so a burst of free cameras spreads over the
 * nodes instead of all landing on the one that was least loaded at the last heartbeat. Every
 * node computes the same plan from the same node list, so only one of them tries each camera.
 * A node missing from `nodes` (its entry not written yet) takes nothing.
 */
export function recorderPlan(
  free: Iterable<string>,
  nodes: ReadonlyArray<{ id: string; load: NodeLoad }>,
  self: string,
): string[] {
  if (!nodes.some((n) => n.id === self)) return [];
  const projected = new Map(nodes.map((n) => [n.id, n.load.cameras]));
  const order = [...nodes].sort((a, b) => a.id.localeCompare(b.id));
  const cpu = new Map(nodes.map((n) => [n.id, n.load.cpu]));
  const mine: string[] = [];
  for (const camera of [...new Set(free)].sort()) {
    let best = order[0]!.id;
    for (const { id } of order) {
      const [a, b] = [projected.get(id)!, projected.get(best)!];
      if (a < b || (a === b && cpu.get(id)! < cpu.get(best)!)) best = id;
    }
    projected.set(best, projected.get(best)! + 1);
    if (best === self) mine.push(camera);
  }
  return mine;
}

/**
 * When the cameras this node holds have lingered out (D39): a camera is in demand while it has a
 * viewer or a recorder here, and for `lingerMs` after its lease was taken (the demand that took it
 * is still being set up: a WHEP POST, a recorder starting); one without demand for `lingerMs` is
 * released. Pure: the caller gives the time.
 */
export class DemandLinger {
  /** Since when each held camera has had no demand (absent: in demand). */
  readonly #idleSince = new Map<string, number>();

  constructor(private readonly lingerMs: number) {}

  /** The camera's lease was taken (or confirmed) for a demand: it counts as demanded from `now`. */
  claimed(camera: string, now: number): void {
    this.#idleSince.set(camera, now);
  }

  /** The camera is no longer held: forget it. */
  forget(camera: string): void {
    this.#idleSince.delete(camera);
  }

  /**
   * Looks at the held cameras and those in demand now; answers the held ones idle for at least
   * `lingerMs` (forgotten here: the caller releases them).
   */
  observe(held: Iterable<string>, inUse: ReadonlySet<string>, now: number): string[] {
    const heldNow = new Set(held);
    for (const camera of this.#idleSince.keys()) if (!heldNow.has(camera)) this.#idleSince.delete(camera);
    const release: string[] = [];
    for (const camera of heldNow) {
      if (inUse.has(camera)) {
        this.#idleSince.delete(camera);
        continue;
      }
      const since = this.#idleSince.get(camera);
      if (since === undefined) this.#idleSince.set(camera, now);
      else if (now - since >= this.lingerMs) {
        this.#idleSince.delete(camera);
        release.push(camera);
      }
    }
    return release;
  }
}
