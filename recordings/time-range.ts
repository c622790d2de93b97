import { LookoutError } from '../core/errors.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Relative times reach back at most this far (100 years). */
const MAX_OFFSET_MS = 100 * 365.25 * 86_400_000;

/** Whether `YYYY-MM-DD` names a day of the calendar (Date.parse rolls 2026-02-30 over to March). */
function realDate(day: string): boolean {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const parsed = new Date(Date.UTC(year, month - 1, date));
  return (
    parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === date
  );
}

/**
 * A point in time as people type it: `now`, a relative offset into the past (`-90s`,
 * `-15m`, `-1h`, `-2d`, `-1h30m`) or an ISO 8601 date-time (`2026-11-24T10:00:00Z`; no
 * zone means UTC). Throws TIME_INVALID with the accepted forms.
 */
export function parseTime(text: string, nowMs: number): number {
  const value = text.trim();
  if (value === 'now') return nowMs;
  if (/^-(\d{1,9}(ms|s|m|h|d|w))+$/.test(value) && value.length <= 64) {
    let offset = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w)/g))
      offset += Number(amount) * UNITS[unit!]!;
    if (offset <= MAX_OFFSET_MS) return nowMs - offset;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value)) {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value) && value.length > 10;
    const normalized = value.replace(' ', 'T');
    const ms = Date.parse(
      hasZone ? normalized : normalized.length === 10 ? `${normalized}T00:00:00Z` : `${normalized}Z`,
    );
    if (Number.isFinite(ms) && realDate(value.slice(0, 10))) return ms;
  }
  throw new LookoutError(
    'TIME_INVALID',
    `cannot read '${text}' as a time: use now, a relative time such as -90s, -15m, -1h, -2d, or ISO 8601 such as 2026-11-24T10:00:00Z`,
    { text },
  );
}

/** Parses and checks a [from, to) range; `to` defaults to now. */
export function parseRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
  defaultFrom = '-24h',
) {
  const fromMs = parseTime(from ?? defaultFrom, nowMs);
  const toMs = parseTime(to ?? 'now', nowMs);
  if (toMs <= fromMs) {
    throw new LookoutError(
      'RANGE_INVALID',
      `the range ends (${new Date(toMs).toISOString()}) before it starts (${new Date(fromMs).toISOString()})`,
    );
  }
  return { fromMs, toMs };
}
