// The live grid's view as data, DOM-free (unit-tested): which cameras in which order and how
// many columns; the URL hash that links to it; the layouts saved under names in the browser.

/** Columns of the grid: 0 lets the page choose by its width. */
export const COLUMN_CHOICES = [0, 1, 2, 3, 4] as const;
export type Columns = (typeof COLUMN_CHOICES)[number];

export interface GridView {
  cameras: string[];
  columns: Columns;
}

export interface SavedLayout extends GridView {
  name: string;
}

/** What a URL hash asks for. */
export type Route = { kind: 'live'; view: GridView } | { kind: 'layout'; name: string } | { kind: 'none' };

/** Bounds on what is read back from the URL or the browser's storage (anyone can hand over a link). */
export const MAX_GRID_CAMERAS = 64;
export const MAX_LAYOUTS = 50;
export const MAX_LAYOUT_NAME = 60;

/** The registry's device id rule (devices/device-id.ts). */
const DEVICE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

function columnsOf(value: unknown): Columns {
  const n = Number(value);
  return (COLUMN_CHOICES as readonly number[]).includes(n) ? (n as Columns) : 0;
}

/** Camera ids kept: valid, each once, at most MAX_GRID_CAMERAS, in order. */
export function cleanCameras(ids: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const id of ids) {
    if (typeof id !== 'string' || !DEVICE_ID.test(id) || out.includes(id)) continue;
    out.push(id);
    if (out.length === MAX_GRID_CAMERAS) break;
  }
  return out;
}

/** A layout name as kept: trimmed, inner spaces collapsed, bounded; '' when nothing is left. */
export function cleanName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').slice(0, MAX_LAYOUT_NAME);
}

/**
 * Reads `#/live/cam1,cam2?cols=2` (one camera or several, in order) and `#/layout/<name>` (a
 * saved layout). Anything else, or a live link without a valid camera, is `none`.
 */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const [route = '', query = ''] = path.split('?', 2);
  const live = /^\/live\/(.+)$/.exec(route);
  if (live) {
    let ids: string[];
    try {
      ids = live[1]!.split(',').map((id) => decodeURIComponent(id));
    } catch {
      return { kind: 'none' };
    }
    const cameras = cleanCameras(ids);
    if (cameras.length === 0) return { kind: 'none' };
    return { kind: 'live', view: { cameras, columns: columnsOf(new URLSearchParams(query).get('cols')) } };
  }
  const layout = /^\/layout\/(.+)$/.exec(route);
  if (layout) {
    try {
      const name = cleanName(decodeURIComponent(layout[1]!));
      if (name) return { kind: 'layout', name };
    } catch {
      // a broken escape: not a link of ours
    }
  }
  return { kind: 'none' };
}

/** The hash that opens `view` (empty for an empty grid). */
export function liveHash(view: GridView): string {
  if (view.cameras.length === 0) return '';
  const cols = view.columns ? `?cols=${view.columns}` : '';
  return `#/live/${view.cameras.map(encodeURIComponent).join(',')}${cols}`;
}

export function layoutHash(name: string): string {
  return `#/layout/${encodeURIComponent(name)}`;
}

/** A grid view read back from storage (the last one, kept across reloads); empty when unreadable. */
export function parseView(raw: string | null): GridView {
  try {
    const value = JSON.parse(raw ?? 'null') as Partial<GridView> | null;
    if (!value || !Array.isArray(value.cameras)) return { cameras: [], columns: 0 };
    return { cameras: cleanCameras(value.cameras), columns: columnsOf(value.columns) };
  } catch {
    return { cameras: [], columns: 0 };
  }
}

/** The saved layouts read back from storage: valid ones only, by name, bounded. */
export function parseLayouts(raw: string | null): SavedLayout[] {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const layouts: SavedLayout[] = [];
  for (const item of value as Array<Partial<SavedLayout> | null>) {
    if (!item || typeof item.name !== 'string' || !Array.isArray(item.cameras)) continue;
    const name = cleanName(item.name);
    if (!name || layouts.some((l) => l.name === name)) continue;
    layouts.push({ name, cameras: cleanCameras(item.cameras), columns: columnsOf(item.columns) });
    if (layouts.length === MAX_LAYOUTS) break;
  }
  return sortByName(layouts);
}

/** `layouts` with `layout` saved under its name (replacing one of that name). Throws when over MAX_LAYOUTS. */
export function withLayout(layouts: readonly SavedLayout[], layout: SavedLayout): SavedLayout[] {
  const name = cleanName(layout.name);
  if (!name) throw new Error('a layout needs a name');
  const others = layouts.filter((l) => l.name !== name);
  if (others.length >= MAX_LAYOUTS) throw new Error(`at most ${MAX_LAYOUTS} layouts: delete one first`);
  return sortByName([...others, { name, cameras: cleanCameras(layout.cameras), columns: layout.columns }]);
}

export function withoutLayout(layouts: readonly SavedLayout[], name: string): SavedLayout[] {
  return layouts.filter((l) => l.name !== name);
}

function sortByName(layouts: SavedLayout[]): SavedLayout[] {
  return layouts.sort((a, b) => a.name.localeCompare(b.name));
}

export function sameView(a: GridView, b: GridView): boolean {
  return a.columns === b.columns && a.cameras.join(',') === b.cameras.join(',');
}

/** How long a camera has been offline, for people: `offline for 5 min`; `offline, never seen`. */
export function offlineFor(lastSeenAt: string | null | undefined, now: number): string {
  const at = lastSeenAt ? Date.parse(lastSeenAt) : Number.NaN;
  if (Number.isNaN(at)) return 'offline, never seen';
  const s = Math.max(0, Math.floor((now - at) / 1000));
  if (s < 60) return `offline for ${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `offline for ${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `offline for ${h} h ${min % 60} min`;
  return `offline for ${Math.floor(h / 24)} days`;
}
