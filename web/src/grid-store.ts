// The live grid kept across reloads: the view (cameras watched, in order, and the columns) in
// the URL hash and in localStorage, and layouts saved under names in localStorage.
import { batch, effect, signal } from '@preact/signals';
import { signedIn } from './api.js';
import {
  type Columns,
  cleanName,
  type GridView,
  layoutHash,
  liveHash,
  parseLayouts,
  parseRoute,
  parseView,
  type SavedLayout,
  sameView,
  withLayout,
  withoutLayout,
} from './grid-layout.js';
import { devices, watching } from './state.js';

const VIEW_KEY = 'lookout.grid';
const LAYOUTS_KEY = 'lookout.layouts';

/** Columns of the live grid (0: as many as fit). */
export const columns = signal<Columns>(0);
/** The layouts saved in this browser, by name. */
export const layouts = signal<SavedLayout[]>(parseLayouts(readStorage(LAYOUTS_KEY)));
/** What the layout bar says (a layout saved, a link to one this browser does not have). */
export const gridNotice = signal('');

function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: the grid just is not kept
  }
}

function writeStorage(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // full or disabled: the grid is not kept, nothing else breaks
  }
}

const nameOf = (id: string) => devices.peek()?.find((d) => d.id === id)?.name ?? id;

export function currentView(): GridView {
  return { cameras: watching.peek().map((p) => p.id), columns: columns.peek() };
}

function applyView(view: GridView): void {
  batch(() => {
    watching.value = view.cameras.map((id) => ({ id, name: nameOf(id) }));
    columns.value = view.columns;
  });
}

/** Opens what the URL hash links to; false when it links to nothing (or to a layout not saved here). */
function applyRoute(hash: string): boolean {
  const route = parseRoute(hash);
  if (route.kind === 'live') {
    applyView(route.view);
    return true;
  }
  if (route.kind === 'layout') {
    const layout = layouts.peek().find((l) => l.name === route.name);
    if (!layout) {
      gridNotice.value = `No layout named “${route.name}” is saved in this browser.`;
      return false;
    }
    applyView(layout);
    gridNotice.value = `Layout “${layout.name}”.`;
    return true;
  }
  return false;
}

/**
 * Puts the grid back as the URL or the last visit left it: a link (`#/live/...`,
 * `#/layout/...`) wins, else the view kept in localStorage. Called once signed in; an
 * unchanged grid is left alone when it already has cameras.
 */
export function restoreGrid(): void {
  if (applyRoute(location.hash)) return;
  if (watching.peek().length > 0) return;
  applyView(parseView(readStorage(VIEW_KEY)));
}

export function setColumns(value: Columns): void {
  columns.value = value;
}

/** Saves the grid as it is under `name` (replacing a layout of that name). Throws with a message for people. */
export function saveLayout(name: string): SavedLayout {
  const next = withLayout(layouts.peek(), { name, ...currentView() });
  const saved = next.find((l) => l.name === cleanName(name))!;
  layouts.value = next;
  writeStorage(LAYOUTS_KEY, JSON.stringify(next));
  gridNotice.value = `Saved layout “${saved.name}”.`;
  history.replaceState(null, '', layoutHash(saved.name));
  return saved;
}

export function openLayout(name: string): void {
  history.replaceState(null, '', layoutHash(name));
  applyRoute(location.hash);
}

export function deleteLayout(name: string): void {
  layouts.value = withoutLayout(layouts.peek(), name);
  writeStorage(LAYOUTS_KEY, JSON.stringify(layouts.peek()));
  gridNotice.value = `Deleted layout “${name}”.`;
}

/** The hash that shows the grid now: its layout's link while it is that layout unchanged, else the cameras'. */
function hashFor(view: GridView): string {
  const route = parseRoute(location.hash);
  if (route.kind === 'layout') {
    const layout = layouts.peek().find((l) => l.name === route.name);
    if (layout && sameView(layout, view)) return location.hash;
  }
  return liveHash(view);
}

/**
 * Keeps the URL and localStorage in step with the grid, and follows links pasted into this tab
 * (hashchange). Returns the stop.
 */
export function syncGrid(): () => void {
  const stop = effect(() => {
    const view = { cameras: watching.value.map((p) => p.id), columns: columns.value };
    // Signed out, the list (and so the grid) is emptied: that is not the user's grid to keep.
    if (!signedIn()) return;
    writeStorage(VIEW_KEY, JSON.stringify(view));
    const hash = hashFor(view);
    if (hash !== location.hash)
      history.replaceState(null, '', hash || `${location.pathname}${location.search}`);
  });
  const onHash = () => applyRoute(location.hash);
  window.addEventListener('hashchange', onHash);
  // Names arrive with the camera list, after a link or the stored view opened tiles by id.
  const names = effect(() => {
    const list = devices.value;
    if (!list) return;
    const current = watching.peek();
    if (current.some((p) => p.name !== nameOf(p.id)))
      watching.value = current.map((p) => ({ ...p, name: nameOf(p.id) }));
  });
  return () => {
    stop();
    names();
    window.removeEventListener('hashchange', onHash);
  };
}
