import { useEffect, useRef, useState } from 'preact/hooks';
import { authHeaders } from '../api.js';
import { lookout, type Player, unwatch } from '../state.js';
import { framesDecoded, startWhep, WhepError, type WhepPeer, type WhepSession, whepUrl } from '../whep.js';

/**
 * Plays one camera over WHEP and keeps trying while it is open (camera offline, connection
 * lost). Closing the tile stops the session (the WHEP DELETE).
 */
export function LiveTile({ id, name }: { id: string; name: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState('connecting…');

  useEffect(() => {
    const player: Player = { deviceId: id, frames: 0 };
    lookout.players.set(id, player);
    let session: WhepSession | undefined;
    let closed = false;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const schedule = (seconds: number, why: string) => {
      setState(`${why}; retrying in ${seconds} s`);
      retry = setTimeout(connect, seconds * 1000);
    };
    const connect = async () => {
      if (closed) return;
      setState('connecting…');
      const pc = new RTCPeerConnection();
      const stream = new MediaStream();
      pc.addEventListener('track', (event) => {
        stream.addTrack(event.track);
        if (video.current) video.current.srcObject = stream;
      });
      try {
        const started = await startWhep(pc as unknown as WhepPeer, whepUrl(id), authHeaders('POST'), fetch);
        if (closed) return void started.stop();
        session = started;
        player.pc = pc;
        let stalled: ReturnType<typeof setTimeout> | undefined;
        const lost = () => {
          clearTimeout(stalled);
          if (session !== started || closed) return;
          session = undefined;
          void started.stop();
          schedule(1, 'connection lost');
        };
        pc.addEventListener('connectionstatechange', () => {
          const s = pc.connectionState;
          if (s === 'failed' || s === 'closed') lost();
          // The server's side is gone (its media worker restarted, the network dropped): the
          // browser says 'disconnected' within seconds but 'failed' only after ~30 s. A session
          // that stays disconnected for 4 s is given up and a new one is made.
          else if (s === 'disconnected') stalled ??= setTimeout(lost, 4000);
          else if (s === 'connected') {
            clearTimeout(stalled);
            stalled = undefined;
          }
        });
      } catch (err) {
        const message = (err as Error).message;
        if (err instanceof WhepError && err.status === 503) schedule(err.retryAfter || 5, 'camera offline');
        else if (err instanceof WhepError && err.status === 403) setState('no right to view this camera');
        else if (err instanceof WhepError && err.status === 401) setState('signed out');
        else if (err instanceof WhepError && err.status < 500) setState(`error: ${message}`);
        else schedule(5, `error: ${message}`);
      }
    };
    const ticker = setInterval(async () => {
      if (!session) return;
      player.frames = await framesDecoded(session.peer);
      setState(player.frames > 0 ? `live · ${player.frames} frames` : 'waiting for video…');
    }, 1000);
    void connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(ticker);
      void session?.stop();
      if (video.current) video.current.srcObject = null;
      lookout.players.delete(id);
    };
  }, [id]);

  return (
    <figure class="tile" data-device={id} data-state={state}>
      <video ref={video} autoplay muted playsInline aria-label={`Live picture of ${name}`} />
      <figcaption>
        <strong class="name">{name}</strong> <span class="state muted">{state}</span>
        <button
          class="close"
          type="button"
          title="Stop"
          aria-label={`Stop watching ${name}`}
          onClick={() => unwatch(id)}
        >
          ✕
        </button>
      </figcaption>
    </figure>
  );
}
