/**
 * A werift viewer of a Janus streaming mountpoint over Janus's HTTP API
 * (https://janus.conf.meetecho.com/docs/rest.html): create a session, attach the streaming
 * plugin, `watch` (Janus sends the offer), answer with `start`, keep the session alive.
 */
import { randomBytes } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';

interface JanusReply {
  janus: string;
  data?: { id: number };
  jsep?: { type: 'offer'; sdp: string };
  error?: { code: number; reason: string };
}

async function post(url: string, body: Record<string, unknown>): Promise<JanusReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, transaction: randomBytes(6).toString('hex') }),
  });
  const reply = (await res.json()) as JanusReply;
  if (reply.janus === 'error') throw new Error(`janus ${body.janus}: ${reply.error?.reason}`);
  return reply;
}

/** Starts watching `mountpoint` on `pc`; resolves with a function that ends the session. */
export async function janusWatch(
  pc: RTCPeerConnection,
  api: string,
  mountpoint: number,
): Promise<() => Promise<unknown>> {
  const session = (await post(api, { janus: 'create' })).data!.id;
  const sessionUrl = `${api}/${session}`;
  const handle = (await post(sessionUrl, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data!.id;
  const handleUrl = `${sessionUrl}/${handle}`;
  await post(handleUrl, { janus: 'message', body: { request: 'watch', id: mountpoint } });
  // The offer comes as an asynchronous event: long-poll the session until it arrives.
  let offer: JanusReply['jsep'];
  for (let tries = 0; !offer && tries < 30; tries++) {
    const events = (await (await fetch(`${sessionUrl}?maxev=10`)).json()) as JanusReply | JanusReply[];
    for (const event of Array.isArray(events) ? events : [events]) offer ??= event.jsep;
  }
  if (!offer) throw new Error('janus sent no offer');
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  await post(handleUrl, {
    janus: 'message',
    body: { request: 'start' },
    jsep: { type: 'answer', sdp: pc.localDescription!.sdp },
  });
  await post(handleUrl, { janus: 'trickle', candidate: { completed: true } });
  const keepalive = setInterval(() => {
    post(sessionUrl, { janus: 'keepalive' }).catch(() => {});
  }, 20_000);
  return async () => {
    clearInterval(keepalive);
    await post(sessionUrl, { janus: 'destroy' });
  };
}
