// Live state pushed by the server: GET /api/events (server-sent events, docs/http-api.md).

/**
 * Follows the server's event stream with the token `token()` returns and calls `on.health(up,
 * server)`, `on.snapshot(s)`, `on.presence(e)`, `on.recording(e)` and `on.revoked()`. The server
 * counts as unreachable when the stream drops or no event came for 2.5 heartbeats; EventSource
 * reconnects by itself (the server asks for 1 s) and the new snapshot says it is back. A stream
 * the server refuses (bad token, too many open) is not retried by the browser: then /healthz
 * says whether the server is there, and the stream is tried again later. Returns `restart()`.
 */
export function watchServer(token, on) {
  let source;
  let stale;
  let retry;
  let heartbeatMs = 1000;
  let revoked = false;
  /** The server as the last snapshot described it, while it is believed up. */
  let server;
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
  const listen = (name, handler) =>
    source.addEventListener(name, (event) => {
      alive();
      handler(JSON.parse(event.data));
    });

  const probe = async () => {
    try {
      const body = await (await fetch('/healthz', { cache: 'no-store' })).json();
      on.health(true, body);
      if (!revoked && token()) retry = setTimeout(connect, 10_000);
      else retry = setTimeout(probe, 2000);
    } catch {
      on.health(false);
      retry = setTimeout(token() && !revoked ? connect : probe, 1000);
    }
  };

  const connect = () => {
    clearTimeout(retry);
    source?.close();
    if (!token()) return probe();
    source = new EventSource(`/api/events?access_token=${encodeURIComponent(token())}`);
    listen('snapshot', (s) => {
      heartbeatMs = s.heartbeatMs;
      server = s.server;
      up = true;
      alive();
      on.health(true, s.server);
      on.snapshot(s);
    });
    listen('heartbeat', () => {});
    listen('presence', on.presence);
    listen('recording', on.recording);
    listen('revoked', () => {
      revoked = true;
      source.close();
      clearTimeout(stale);
      on.revoked();
      probe();
    });
    source.addEventListener('error', () => {
      if (revoked) return;
      down();
      if (source.readyState === EventSource.CLOSED) retry = setTimeout(probe, 1000);
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
