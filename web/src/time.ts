// How times are shown and entered.

export const time = (ms: number) => new Date(ms).toLocaleTimeString();
export const dateTime = (ms: number) => new Date(ms).toLocaleString();
export const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** `ms` as a datetime-local value (local time, seconds precision). */
export function localInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A length of time for people: `12.3 s`, `5 min 12 s`, `3 h 4 min`. */
export function duration(ms: number): string {
  if (ms < 60_000) return seconds(ms);
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min ${totalS % 60} s`;
  const totalMin = Math.round(totalS / 60);
  return `${Math.floor(totalMin / 60)} h ${totalMin % 60} min`;
}
