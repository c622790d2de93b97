import http, { type IncomingMessage } from 'node:http';
import { waitFor } from './wait-for.js';

export interface SseEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are read by field in tests
  data: any;
}

export interface SseConnection {
  status: number;
  /** The body of a refused request (a problem document), parsed. */
  problem: Record<string, unknown> | undefined;
  /** Every event received so far, in order. */
  events: SseEvent[];
  /** Whether the server ended the response. */
  ended: boolean;
  /** Waits for the first event named `event` after index `from` that `match` accepts. */
  next(
    event: string,
    match?: (data: SseEvent['data']) => boolean,
    options?: { from?: number; timeoutMs?: number },
  ): Promise<SseEvent>;
  close(): void;
}

/**
 * A plain HTTP client reading a text/event-stream response and parsing its events (the
 * `event:`/`data:` fields of the HTML standard's format; `retry:` and comments ignored).
 */
export function openEventStream(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res: IncomingMessage) => {
        const connection: SseConnection = {
          status: res.statusCode ?? 0,
          problem: undefined,
          events: [],
          ended: false,
          async next(event, match = () => true, options = {}) {
            const from = options.from ?? 0;
            return waitFor(
              () => connection.events.slice(from).find((e) => e.event === event && match(e.data)),
              {
                timeoutMs: options.timeoutMs ?? 10_000,
                what: `event '${event}'`,
              },
            );
          },
          close: () => req.destroy(),
        };
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = new Map(
              block.split('\n').map((line) => {
                const colon = line.indexOf(':');
                return [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')] as const;
              }),
            );
            const data = fields.get('data');
            if (data !== undefined)
              connection.events.push({ event: fields.get('event') ?? 'message', data: JSON.parse(data) });
          }
        });
        res.on('end', () => {
          connection.ended = true;
          if (connection.status !== 200 && buffer) connection.problem = JSON.parse(buffer);
        });
        res.on('error', () => {
          connection.ended = true;
        });
        resolve(connection);
      },
    );
    req.on('error', reject);
  });
}
