import { z } from 'zod';

/** What a node is busy with, published with each heartbeat. */
export const nodeLoadSchema = z.object({
  cameras: z.number().int().min(0),
  viewers: z.number().int().min(0),
  recordings: z.number().int().min(0),
  /** Share of one core this node's processes used since the last heartbeat (1 = one core). */
  cpu: z.number().min(0),
});
export type NodeLoad = z.infer<typeof nodeLoadSchema>;

/** A node's entry in Redis. Read back through `parseNodeInfo`: Redis is shared, so nothing read is trusted. */
export const nodeInfoSchema = z.object({
  id: z.string().min(1).max(64),
  version: z.string().max(64),
  /** Epoch ms. */
  startedAt: z.number().int(),
  heartbeatAt: z.number().int(),
  /** Where browsers, cameras and other nodes reach it. */
  http: z.string().max(512),
  mqtt: z.string().max(512),
  turn: z.array(z.string().max(512)).max(8),
  /** The addresses its media (WebRTC) is reached at: its ICE host candidates (absent from older nodes). */
  media: z.array(z.string().max(64)).max(16).optional(),
  load: nodeLoadSchema,
});
export type NodeInfo = z.infer<typeof nodeInfoSchema>;

/** Largest entry accepted back from Redis. */
export const MAX_NODE_INFO_BYTES = 8192;

/** A node entry from its JSON, or undefined when it is not one (too large, not JSON, wrong shape). */
export function parseNodeInfo(text: string | null | undefined): NodeInfo | undefined {
  if (!text || text.length > MAX_NODE_INFO_BYTES) return undefined;
  try {
    const parsed = nodeInfoSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
