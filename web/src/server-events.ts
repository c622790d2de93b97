// Live state pushed by the server: GET /api/events (server-sent events, docs/http-api.md).
import type { DeviceDocument } from '../../http-contract/index.js';

/** What the server's version is, as /healthz and the snapshot say it. */
export interface ServerInfo {
  version?: string;
}

/** A camera's recording activity as the event stream says it. */
export interface RecordingActivity {
  state: string;
  reason?: string | null;
}

export interface Snapshot {
  heartbeatMs: number;
  server: ServerInfo;
  devices: Array<Pick<DeviceDocument, 'id' | 'online' | 'lastSeenAt'> & { recording: RecordingActivity }>;
}

export interface PresenceEvent {
  id: string;
  online: boolean;
  at?: string | null;
}

export interface RecordingEvent extends RecordingActivity {
  id: string;
}

export interface ServerEventHandlers {
  health(up: boolean, server?: ServerInfo): void;
  snapshot(s: Snapshot): void;
  presence(e: PresenceEvent): void;
  recording(e: RecordingEvent): void;
  revoked(): void;
}

/**
 * Follows the server's event stream while `signedIn()` (the session cookie goes along; a kiosk's
 * token from `token()` goes as `access_token`) and calls the handlers.
 * The server counts as unreachable when the stream drops or no event came for 2.5 heartbeats;
 * EventSource reconnects by itself (the server asks for 1 s) and the new snapshot says it is
 * back. A stream the server refuses (bad token, too many open) is not retried by the browser:
 * then /healthz says whether the server is there, and the stream is tried again later.
 */
export function watchServer(
  signedIn: () => boolean,
  token: () => string,
  on: ServerEventHandlers,
): { restart(): void } {
  let source: EventSource | undefined;
  let stale: ReturnType<typeof setTimeout> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let heartbeatMs = 1000;
  let revoked = false;
  /** The server as the last snapshot described it, while it is believed up. */
  let server: ServerInfo | undefined;
  let up = false;

  const down = () => {
    clearTimeout(stale);
    up = false;
    on.health(false);
  };
  const alive = () => {
    clearTimeout(stale);
    stale = setTimeout(down, heartbeatMs * 2.5);
    // Events again after a silence (a server that hung, not one that restarted): up again.
    if (!up && server) {
      up = true;
      on.health(true, server);
    }
  };
  const listen = <T>(events: EventSource, name: string, handler: (data: T) => void) =>
    events.addEventListener(name, (event) => {
      alive();
      handler(JSON.parse((event as MessageEvent<string>).data) as T);
    });

  const probe = async () => {
    try {
      // A server that hangs (SIGSTOP, a full event loop) accepts the connection but never answers.
      const signal = AbortSignal.timeout(heartbeatMs * 2.5);
      const body = (await (await fetch('/healthz', { cache: 'no-store', signal })).json()) as ServerInfo;
      on.health(true, body);
      if (!revoked && signedIn()) retry = setTimeout(connect, 10_000);
      else retry = setTimeout(probe, 2000);
    } catch {
      on.health(false);
      retry = setTimeout(signedIn() && !revoked ? connect : probe, 1000);
    }
  };

  const connect = () => {
    clearTimeout(retry);
    source?.close();
    if (!signedIn()) return void probe();
    const events = new EventSource(
      token() ? `/api/events?access_token=${encodeURIComponent(token())}` : '/api/events',
    );
    source = events;
    // The snapshot must come as any event would: a server that hung accepts the stream but says nothing.
    clearTimeout(stale);
    stale = setTimeout(down, heartbeatMs * 2.5);
    listen<Snapshot>(events, 'snapshot', (s) => {
      heartbeatMs = s.heartbeatMs;
      server = s.server;
      up = true;
      alive();
      on.health(true, s.server);
      on.snapshot(s);
    });
    listen(events, 'heartbeat', () => {});
    listen(events, 'presence', on.presence);
    listen(events, 'recording', on.recording);
    listen(events, 'revoked', () => {
      revoked = true;
      events.close();
      clearTimeout(stale);
      on.revoked();
      void probe();
    });
    events.addEventListener('error', () => {
      if (revoked) return;
      down();
      if (events.readyState === EventSource.CLOSED) retry = setTimeout(probe, 1000);
    });
  };

  connect();
  return {
    restart() {
      revoked = false;
      connect();
    },
  };
}
