import { describe, expect, it } from 'vitest';
import {
  cleanCameras,
  layoutHash,
  liveHash,
  MAX_GRID_CAMERAS,
  MAX_LAYOUTS,
  offlineFor,
  parseLayouts,
  parseRoute,
  parseView,
  sameView,
  withLayout,
  withoutLayout,
} from '../../../web/src/grid-layout.js';
import { tileStateText } from '../../../web/src/tile-state.js';
import { fuzzRandom } from '../../helpers/random.js';

describe('grid links (URL hash)', () => {
  it('reads one camera, several in order, and the columns', () => {
    expect(parseRoute('#/live/cam1')).toEqual({ kind: 'live', view: { cameras: ['cam1'], columns: 0 } });
    expect(parseRoute('#/live/b,a,c?cols=3')).toEqual({
      kind: 'live',
      view: { cameras: ['b', 'a', 'c'], columns: 3 },
    });
    expect(parseRoute('#/layout/Front%20and%20back')).toEqual({ kind: 'layout', name: 'Front and back' });
  });

  it('drops what a device id cannot be, repeats, and bad columns; nothing valid is no route', () => {
    expect(parseRoute('#/live/cam1,CAM2,cam1,-x,a%2Cb,ok-2?cols=9')).toEqual({
      kind: 'live',
      view: { cameras: ['cam1', 'ok-2'], columns: 0 },
    });
    for (const hash of [
      '',
      '#',
      '#/live/',
      '#/live/%E0%A4%A',
      '#/layout/',
      '#/layout/%20',
      '#/other/cam1',
      'cam1',
    ])
      expect(parseRoute(hash), hash).toEqual({ kind: 'none' });
    const many = Array.from({ length: 100 }, (_, i) => `c${i}`).join(',');
    const route = parseRoute(`#/live/${many}`);
    expect(route.kind === 'live' && route.view.cameras.length).toBe(MAX_GRID_CAMERAS);
  });

  it('writes links that read back the same (seeded)', () => {
    const random = fuzzRandom(3107);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-';
    for (let i = 0; i < 500; i++) {
      const ids = Array.from({ length: 1 + random.int(6) }, () => {
        const id = Array.from({ length: 1 + random.int(12) }, () => random.pick([...alphabet])).join('');
        return `x${id}z`;
      });
      const view = { cameras: cleanCameras(ids), columns: random.pick([0, 1, 2, 3, 4] as const) };
      const back = parseRoute(liveHash(view));
      expect(back.kind === 'live' && sameView(back.view, view), liveHash(view)).toBe(true);
      const name = Array.from({ length: 1 + random.int(20) }, () =>
        String.fromCharCode(33 + random.int(2000)),
      ).join('');
      const layout = parseRoute(layoutHash(name));
      expect(layout).toEqual({ kind: 'layout', name: name.trim().replace(/\s+/g, ' ') });
    }
    expect(liveHash({ cameras: [], columns: 2 })).toBe('');
  });
});

describe('saved layouts and the stored view', () => {
  it('saves, replaces by name, sorts and deletes', () => {
    let layouts = withLayout([], { name: ' porch  ', cameras: ['a', 'b'], columns: 2 });
    layouts = withLayout(layouts, { name: 'garden', cameras: ['c'], columns: 0 });
    layouts = withLayout(layouts, { name: 'porch', cameras: ['b'], columns: 1 });
    expect(layouts).toEqual([
      { name: 'garden', cameras: ['c'], columns: 0 },
      { name: 'porch', cameras: ['b'], columns: 1 },
    ]);
    expect(withoutLayout(layouts, 'garden').map((l) => l.name)).toEqual(['porch']);
    expect(() => withLayout(layouts, { name: '  ', cameras: [], columns: 0 })).toThrow(/name/);
  });

  it('refuses more than MAX_LAYOUTS and reads back only valid, bounded layouts', () => {
    let layouts = parseLayouts(null);
    for (let i = 0; i < MAX_LAYOUTS; i++)
      layouts = withLayout(layouts, { name: `l${i}`, cameras: ['a'], columns: 0 });
    expect(() => withLayout(layouts, { name: 'one more', cameras: [], columns: 0 })).toThrow(/at most/);
    expect(withLayout(layouts, { name: 'l3', cameras: ['b'], columns: 0 })).toHaveLength(MAX_LAYOUTS);
    expect(parseLayouts(JSON.stringify(layouts))).toEqual(layouts);
    const stored = JSON.stringify([
      { name: 'ok', cameras: ['a', 'BAD', 'a'], columns: 7 },
      { name: 'ok', cameras: ['b'] },
      null,
      { name: 3, cameras: [] },
      { name: 'no cameras' },
      'x',
    ]);
    expect(parseLayouts(stored)).toEqual([{ name: 'ok', cameras: ['a'], columns: 0 }]);
    for (const junk of ['{', '{}', '"x"', '42']) expect(parseLayouts(junk)).toEqual([]);
    expect(parseView('{"cameras":["b","a"],"columns":4}')).toEqual({ cameras: ['b', 'a'], columns: 4 });
    for (const junk of [null, '{', '[]', '{"cameras":"a"}'])
      expect(parseView(junk)).toEqual({ cameras: [], columns: 0 });
  });
});

describe('tile states', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('says how long a camera has been offline', () => {
    expect(offlineFor('2026-01-01T11:59:48Z', now)).toBe('offline for 12 s');
    expect(offlineFor('2026-01-01T11:55:00Z', now)).toBe('offline for 5 min');
    expect(offlineFor('2026-01-01T09:20:00Z', now)).toBe('offline for 2 h 40 min');
    expect(offlineFor('2025-12-25T12:00:00Z', now)).toBe('offline for 7 days');
    expect(offlineFor('2026-01-01T12:00:05Z', now)).toBe('offline for 0 s'); // clocks a little apart
    expect(offlineFor(null, now)).toBe('offline, never seen');
    expect(offlineFor('garbage', now)).toBe('offline, never seen');
  });

  it('words each state of a live tile', () => {
    expect(tileStateText('connecting', undefined, null, now)).toBe('connecting…');
    expect(tileStateText('live', '42', null, now)).toBe('live · 42 frames');
    expect(tileStateText('offline', 'camera offline; retrying in 5 s', '2026-01-01T11:55:00Z', now)).toBe(
      'camera offline for 5 min; retrying in 5 s',
    );
    expect(tileStateText('offline', undefined, '2026-01-01T11:59:00Z', now)).toBe('camera offline for 1 min');
    expect(tileStateText('reconnecting', 'connection lost; retrying in 1 s', null, now)).toBe(
      'reconnecting… (connection lost; retrying in 1 s)',
    );
    expect(tileStateText('forbidden', undefined, null, now)).toBe('no right to view this camera');
    expect(tileStateText('error', 'HTTP 500', null, now)).toBe('error: HTTP 500');
  });
});
