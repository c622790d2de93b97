import { useEffect, useRef, useState } from 'preact/hooks';
import { authHeaders } from '../api.js';
import { lookout, type Player, presence, unwatch } from '../state.js';
import { type TilePhase, tileStateText } from '../tile-state.js';
import { framesDecoded, startWhep, WhepError, type WhepPeer, type WhepSession, whepUrl } from '../whep.js';
import { FullscreenButton } from './FullscreenButton.js';

/** No new frame for this long: the picture stopped (the tile says "waiting for video…"). */
const STALL_MS = 3000;

/**
 * Plays one camera over WHEP and keeps trying while it is open (camera offline, connection
 * lost). Closing the tile stops the session (the WHEP DELETE). Its caption says the state:
 * connecting, live, camera offline for how long (presence), reconnecting, no right to view.
 */
export function LiveTile({ id, name }: { id: string; name: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const tile = useRef<HTMLElement>(null);
  const [phase, setPhaseState] = useState<{ phase: TilePhase; detail?: string }>({ phase: 'connecting' });
  const [now, setNow] = useState(Date.now());
  const shown = presence.value.get(id);

  useEffect(() => {
    const player: Player = { deviceId: id, frames: 0 };
    lookout.players.set(id, player);
    let session: WhepSession | undefined;
    let closed = false;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const setPhase = (next: TilePhase, detail?: string) =>
      setPhaseState(detail === undefined ? { phase: next } : { phase: next, detail });
    /** Tries again in `seconds`: the camera is offline, the connection was lost, or the server failed. */
    const schedule = (seconds: number, next: TilePhase, why: string) => {
      setPhase(next, `${why}; retrying in ${seconds} s`);
      retry = setTimeout(() => connect(next === 'reconnecting' ? next : undefined), seconds * 1000);
    };
    let everLive = false;
    const connect = async (as: TilePhase = everLive ? 'reconnecting' : 'connecting') => {
      if (closed) return;
      setPhase(as);
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
          schedule(1, 'reconnecting', 'connection lost');
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
        if (err instanceof WhepError && err.status === 503)
          schedule(err.retryAfter || 5, 'offline', 'camera offline');
        else if (err instanceof WhepError && err.status === 403) setPhase('forbidden');
        else if (err instanceof WhepError && err.status === 401) setPhase('signed-out');
        else if (err instanceof WhepError && err.status < 500) setPhase('error', message);
        else schedule(5, 'error', message);
      }
    };
    /** When the count of decoded frames last grew: a picture that stopped is not called live. */
    let progressAt = 0;
    let lastFrames = 0;
    const ticker = setInterval(async () => {
      setNow(Date.now());
      if (!session) return;
      player.frames = await framesDecoded(session.peer);
      if (player.frames > lastFrames) progressAt = Date.now();
      lastFrames = player.frames;
      if (player.frames > 0) everLive = true;
      const flowing = player.frames > 0 && Date.now() - progressAt < STALL_MS;
      setPhase(flowing ? 'live' : 'waiting', String(player.frames));
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

  // The camera went away while the session stays open for its return: say so, not "live".
  const shownPhase = shown?.state === 'offline' && phase.phase !== 'forbidden' ? 'offline' : phase.phase;
  const state = tileStateText(shownPhase, phase.detail, shown?.at, now);
  return (
    <figure ref={tile} class="tile" data-device={id} data-state={state} data-phase={shownPhase}>
      <video ref={video} autoplay muted playsInline aria-label={`Live picture of ${name}`} />
      <figcaption>
        <strong class="name">{name}</strong> <span class="state muted">{state}</span>
        <FullscreenButton target={tile} name={name} />
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
