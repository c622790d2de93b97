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
