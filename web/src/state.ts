// The app's shared state as signals: the server's health, the cameras and what the event
// stream says about them, the open players and the camera whose recordings are shown.
import { batch, signal } from '@preact/signals';
import type { DeviceDocument } from '../../http-contract/index.js';
import { api, signedIn } from './api.js';
import type { RecordingActivity, ServerInfo } from './server-events.js';

export type Health = { state: 'checking' } | { state: 'up'; version: string } | { state: 'down' };
export type Presence = 'online' | 'offline' | 'revoked' | 'unknown';

/** An open player, by camera id in `window.lookout.players` (diagnostics and tests read `pc`). */
export interface Player {
  deviceId: string;
  pc?: RTCPeerConnection;
  frames: number;
}

interface LookoutGlobals {
  players: Map<string, Player>;
  /** When the health display last changed between up and down (the page's clock). */
  healthChangedAt?: number;
}

export const lookout: LookoutGlobals = { players: new Map() };
(window as unknown as { lookout: LookoutGlobals }).lookout = lookout;

export const health = signal<Health>({ state: 'checking' });
/** The cameras as `/api/devices` listed them; undefined until listed (or when listing failed). */
export const devices = signal<DeviceDocument[] | undefined>(undefined);
/** What the camera list says instead of (or above) the table. */
export const listStatus = signal('');
/** Presence and "last seen" (shown, and `at` as the server said it) by camera id, from the list and then the event stream. */
export const presence = signal<ReadonlyMap<string, { state: Presence; seen: string; at?: string | null }>>(
  new Map(),
);
/** Recording activity by camera id, as the event stream last said. */
export const activity = signal<ReadonlyMap<string, RecordingActivity>>(new Map());
/** The cameras being watched, in the order they were opened. */
export const watching = signal<ReadonlyArray<{ id: string; name: string }>>([]);
/** The camera whose recordings are shown; `opened` changes on every click of its button. */
export const recordingsOf = signal<{ device: DeviceDocument; opened: number } | undefined>(undefined);

export const seenText = (online: boolean, at: string | null | undefined) =>
  online ? 'now' : at ? new Date(at).toLocaleString() : 'never';

export function setHealth(up: boolean, server?: ServerInfo): void {
  const state = up ? 'up' : 'down';
  if (health.peek().state !== state) lookout.healthChangedAt = Date.now();
  batch(() => {
    health.value = up ? { state: 'up', version: server?.version ?? '?' } : { state: 'down' };
    // A server that is gone cannot vouch for any camera: no stale "online" over a frozen picture.
    if (!up)
      presence.value = new Map([...presence.peek()].map(([id, p]) => [id, { ...p, state: 'unknown' }]));
  });
}

/** When the event stream last told each camera's presence (performance.now()). */
const presenceToldAt = new Map<string, number>();

export function setPresence(id: string, online: boolean, at: string | null | undefined): void {
  presenceToldAt.set(id, performance.now());
  const next = new Map(presence.peek());
  next.set(id, { state: online ? 'online' : 'offline', seen: seenText(online, at), at: at ?? null });
  presence.value = next;
}

export function setActivity(id: string, a: RecordingActivity): void {
  activity.value = new Map(activity.peek()).set(id, a);
}

/** Lists the cameras again (on every snapshot of the event stream, and after a change). */
export async function loadDevices(): Promise<void> {
  if (!signedIn()) {
    batch(() => {
      listStatus.value = 'Sign in to see your cameras.';
      devices.value = undefined;
      watching.value = [];
    });
    return;
  }
  let list: DeviceDocument[];
  const askedAt = performance.now();
  try {
    ({ devices: list } = await api<{ devices: DeviceDocument[] }>('/api/devices'));
  } catch (err) {
    batch(() => {
      listStatus.value = `Cannot list cameras: ${(err as Error).message}`;
      devices.value = undefined;
    });
    return;
  }
  batch(() => {
    devices.value = list;
    // A presence event that came while the list was on its way is newer than the list: it stays
    // (a camera disconnected by a rotate must not show online again from a list asked just before).
    const told = presence.peek();
    presence.value = new Map(
      list.map((d) => {
        const newer = (presenceToldAt.get(d.id) ?? Number.NEGATIVE_INFINITY) > askedAt && told.get(d.id);
        if (newer && !d.revoked) return [d.id, newer];
        return [
          d.id,
          {
            state: d.revoked ? 'revoked' : d.online ? 'online' : 'offline',
            seen: seenText(d.online, d.lastSeenAt),
            at: d.lastSeenAt ?? null,
          },
        ];
      }),
    );
    listStatus.value =
      list.length === 0
        ? 'No cameras for you yet: an admin adds them under Manage cameras (or `lookout device add <id>`), or grants them.'
        : '';
  });
}

export function watch(id: string, name: string): void {
  if (watching.peek().some((p) => p.id === id)) return;
  watching.value = [...watching.peek(), { id, name }];
}

export function unwatch(id: string): void {
  watching.value = watching.peek().filter((p) => p.id !== id);
}
