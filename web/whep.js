// A small WHEP player (draft-ietf-wish-whep): POST an SDP offer, apply the answer, DELETE to stop.

/** Thrown when the server answers with an error; `problem` is its RFC 9457 body. */
export class WhepError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => pc.iceGatheringState === 'complete' && done();
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * Plays `deviceId` into `video`. Resolves with a session ({ pc, stop() }) once the server
 * accepted the offer; rejects with WhepError (e.g. 503 when the camera is offline).
 */
export async function playWhep(video, deviceId, token) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.addEventListener('track', (event) => {
    stream.addTrack(event.track);
    video.srcObject = stream;
  });
  await pc.setLocalDescription(await pc.createOffer());
  // Send one complete offer (the server answers with all of its candidates too).
  await gatheringComplete(pc, 1500);
  let response;
  try {
    response = await fetch(`/whep/${encodeURIComponent(deviceId)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: pc.localDescription.sdp,
    });
  } catch (err) {
    pc.close();
    throw err;
  }
  if (response.status !== 201) {
    pc.close();
    const problem = await response.json().catch(() => undefined);
    throw new WhepError(response.status, problem, Number(response.headers.get('retry-after') ?? 0));
  }
  const location = response.headers.get('location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  return {
    pc,
    async stop() {
      pc.close();
      video.srcObject = null;
      if (location)
        await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(
          () => {},
        );
    },
  };
}

/** Frames decoded so far, from getStats() (what the tests and the tile's counter read). */
export async function framesDecoded(pc) {
  let frames = 0;
  const stats = await pc.getStats();
  stats.forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'video') frames += report.framesDecoded ?? 0;
  });
  return frames;
}
