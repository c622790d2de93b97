import type { Redis } from 'ioredis';
import { z } from 'zod';

/** One device's presence as the cluster sees it: which node's session it is, and its state. */
export const clusterPresenceSchema = z.object({
  node: z.string().max(64),
  session: z.string().max(64),
  online: z.boolean(),
  at: z.number().int(),
});
export type ClusterPresenceEntry = z.infer<typeof clusterPresenceSchema>;

/** Sets the entry offline only while it still names this session; 1 if it did. */
const DISCONNECT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local entry = cjson.decode(cur)
if entry.session ~= ARGV[2] or not entry.online then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/** 1 while the entry is still this session's offline record (nobody connected since). */
const STILL_MINE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local entry = cjson.decode(cur)
if entry.session == ARGV[2] and not entry.online then return 1 end
return 0`;

function parse(text: string | null | undefined): ClusterPresenceEntry | undefined {
  if (!text || text.length > 1024) return undefined;
  try {
    const parsed = clusterPresenceSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Device presence shared by the nodes of a cluster: a Redis hash from device id to the session
 * that holds it (node and session id) and whether it is online. The newest session always wins:
 * a connection writes its entry unconditionally; a disconnection sets it offline only while it
 * still names that session (compare-and-set in Lua), so a device that moved to another node is
 * never marked offline by the node it left. A node that dies leaves entries naming it; the
 * survivors set those offline (`sweep`), one winner per device.
 */
export class ClusterPresenceStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly nodeId: string,
  ) {}

  /** This node's session `session` of the device is online now. */
  async connected(deviceId: string, session: string, at: number): Promise<void> {
    const entry: ClusterPresenceEntry = { node: this.nodeId, session, online: true, at };
    await this.redis.hset(this.key, deviceId, JSON.stringify(entry));
  }

  /** The session ended; true if it was still the device's session (then the device is offline). */
  async disconnected(deviceId: string, session: string, at: number): Promise<boolean> {
    return (await this.#setOffline(deviceId, session, this.nodeId, at)) === 1;
  }

  /** Whether the device is still offline by `session` (nobody connected it since). */
  async stillOffline(deviceId: string, session: string): Promise<boolean> {
    return (await this.redis.eval(STILL_MINE, 1, this.key, deviceId, session)) === 1;
  }

  /** Every device's entry (entries that cannot be read are left out). */
  async snapshot(): Promise<Map<string, ClusterPresenceEntry>> {
    const all = await this.redis.hgetall(this.key);
    const entries = new Map<string, ClusterPresenceEntry>();
    for (const [id, text] of Object.entries(all)) {
      const entry = parse(text);
      if (entry) entries.set(id, entry);
    }
    return entries;
  }

  /**
   * Sets offline the devices whose online entry names a node not in `live` (or, with `only`, this
   * node's own entries left by a previous run). Returns those this call set offline: its caller
   * announces them, and no other node does.
   */
  async sweep(live: ReadonlySet<string>, at: number, only?: string): Promise<string[]> {
    const won: string[] = [];
    for (const [id, entry] of await this.snapshot()) {
      if (!entry.online) continue;
      if (only !== undefined ? entry.node !== only : live.has(entry.node)) continue;
      if ((await this.#setOffline(id, entry.session, entry.node, at)) === 1) won.push(id);
    }
    return won;
  }

  /** Drops a deleted device's entry. */
  async forget(deviceId: string): Promise<void> {
    await this.redis.hdel(this.key, deviceId);
  }

  #setOffline(deviceId: string, session: string, node: string, at: number): Promise<unknown> {
    const entry: ClusterPresenceEntry = { node, session, online: false, at };
    return this.redis.eval(DISCONNECT, 1, this.key, deviceId, session, JSON.stringify(entry));
  }
}
