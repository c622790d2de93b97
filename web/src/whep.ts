// A small WHEP client (draft-ietf-wish-whep): POST an SDP offer, apply the answer, DELETE to
// stop. No DOM here: the caller brings the peer connection (a browser's RTCPeerConnection) and
// `fetch`, and attaches the received tracks to its video element itself.

/** A problem document (RFC 9457) as far as the client reads it. */
export interface Problem {
  detail?: string;
  code?: string;
  title?: string;
}

/** Thrown when the server answers with an error; `problem` is its RFC 9457 body. */
export class WhepError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    /** Seconds the server asked to wait (`Retry-After`), 0 when it did not say. */
    readonly retryAfter: number,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
  }
}

/** One report of `getStats()`, as far as the client reads it. */
export interface StatsReport {
  type: string;
  kind?: string;
  framesDecoded?: number;
}

/** The slice of RTCPeerConnection the client uses. */
export interface WhepPeer {
  addTransceiver(kind: 'audio' | 'video', init: { direction: 'recvonly' }): unknown;
  createOffer(): Promise<{ type: 'offer'; sdp?: string }>;
  setLocalDescription(description: { type: 'offer'; sdp?: string }): Promise<void>;
  readonly localDescription: { sdp: string } | null;
  setRemoteDescription(description: { type: 'answer'; sdp: string }): Promise<void>;
  readonly iceGatheringState: string;
  addEventListener(type: 'icegatheringstatechange', listener: () => void): void;
  removeEventListener(type: 'icegatheringstatechange', listener: () => void): void;
  getStats(): Promise<{ forEach(callback: (report: StatsReport) => void): void }>;
  close(): void;
}

/** The slice of `fetch` the client uses. */
export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}>;

/** A session the server accepted: `stop()` closes the peer and tells the server (DELETE). */
export interface WhepSession {
  readonly peer: WhepPeer;
  /** The session's resource (the answer's `Location`), absent when the server named none. */
  readonly location: string | undefined;
  stop(): Promise<void>;
}

/** Resolves when ICE gathering completed, or after `timeoutMs` (then with what was gathered). */
export function gatheringComplete(peer: WhepPeer, timeoutMs: number): Promise<void> {
  if (peer.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      peer.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (peer.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    peer.addEventListener('icegatheringstatechange', check);
  });
}

/** The endpoint of a camera: `/whep/<id>` (relative to the page's server). */
export const whepUrl = (deviceId: string) => `/whep/${encodeURIComponent(deviceId)}`;

/**
 * Asks `url` for a receive-only session on `peer` (video and audio). Resolves once the server
 * accepted the offer; rejects with WhepError (e.g. 503 and a Retry-After when the camera is
 * offline), or with the network's error. The peer is closed when it fails.
 */
export async function startWhep(
  peer: WhepPeer,
  url: string,
  auth: Record<string, string>,
  fetchFn: Fetch,
  gatherMs = 1500,
): Promise<WhepSession> {
  let response: Awaited<ReturnType<Fetch>>;
  try {
    peer.addTransceiver('video', { direction: 'recvonly' });
    peer.addTransceiver('audio', { direction: 'recvonly' });
    await peer.setLocalDescription(await peer.createOffer());
    // Send one complete offer (the server answers with all of its candidates too).
    await gatheringComplete(peer, gatherMs);
    response = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...auth },
      body: peer.localDescription?.sdp ?? '',
    });
  } catch (err) {
    peer.close();
    throw err;
  }
  if (response.status !== 201) {
    peer.close();
    const problem = (await response.json().catch(() => undefined)) as Problem | undefined;
    throw new WhepError(response.status, problem, retryAfterSeconds(response.headers.get('retry-after')));
  }
  const location = response.headers.get('location') ?? undefined;
  try {
    await peer.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  } catch (err) {
    peer.close();
    throw err;
  }
  return {
    peer,
    location,
    async stop() {
      peer.close();
      if (location) await fetchFn(location, { method: 'DELETE', headers: auth }).catch(() => {});
    },
  };
}

/** `Retry-After` in seconds (only the delay form; a date or junk counts as not said: 0). */
export function retryAfterSeconds(header: string | null): number {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return 0;
  return Number(header.trim());
}

/** Video frames decoded so far, from getStats() (what the tests and the tile's counter read). */
export async function framesDecoded(peer: Pick<WhepPeer, 'getStats'>): Promise<number> {
  let frames = 0;
  (await peer.getStats()).forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'video') frames += report.framesDecoded ?? 0;
  });
  return frames;
}
