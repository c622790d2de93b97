/**
 * Server-sent events framing (HTML Living Standard §9.2, "text/event-stream"). JSON text has
 * no raw line breaks (JSON.stringify escapes them), so one `data:` line holds any payload.
 */

/** One event: `event: <name>`, `data: <json>`, a blank line. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Tells an EventSource how long to wait before reconnecting after the stream drops. */
export function sseRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}
