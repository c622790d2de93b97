import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LookoutError } from '../../../core/errors.js';
import { SafeEmitter } from '../../../core/safe-emitter.js';
import { MediaChannel } from '../../../media/boundary/channel.js';
import { InProcessChannel } from '../../../media/boundary/in-process.js';
import type { CommandName, FromWorker, MediaEvent, WorkerInit } from '../../../media/boundary/protocol.js';
import { MediaRouter } from '../../../media/router.js';
import type { ParseResult, ServerMessage } from '../../../media/signaling/messages.js';
import { captureLog } from '../../helpers/log.js';
import { waitFor } from '../../helpers/wait-for.js';

/** Plain data survives JSON unchanged: what crosses the boundary must. */
const plain = (value: unknown) => expect(JSON.parse(JSON.stringify(value))).toEqual(value);

/**
 * A worker without a process or sockets: requests are answered by `answer`, everything that
 * crosses is checked to be plain data and recorded.
 */
class FakeChannel extends MediaChannel {
  readonly requests: Array<{ command: CommandName; args: unknown }> = [];
  answer: (command: CommandName, args: unknown) => unknown = () => null;
  /** While set, requests are taken and never answered (a busy or dying worker). */
  hold = false;

  get pid(): number {
    return 4242 + this.workerId;
  }

  protected send(message: { type: 'request'; id: number; command: CommandName; args: unknown }): void {
    plain(message);
    this.requests.push({ command: message.command, args: message.args });
    if (this.hold) return;
    queueMicrotask(() => {
      let reply: FromWorker;
      try {
        reply = {
          type: 'response',
          id: message.id,
          ok: true,
          result: this.answer(message.command, message.args),
        };
      } catch (err) {
        const e = err as LookoutError;
        reply = { type: 'response', id: message.id, ok: false, error: { code: e.code, message: e.message } };
      }
      plain(reply);
      this.receive(reply);
    });
  }

  /** The worker pushes an event. */
  push(event: MediaEvent): void {
    const message = { type: 'event', ...event } as FromWorker;
    plain(message);
    this.receive(message);
  }

  die(): void {
    this.exitedWith({ code: null, signal: 'SIGKILL', requested: false });
  }

  async close(): Promise<void> {
    this.exitedWith({ code: 0, signal: null, requested: true });
  }

  kill(): void {
    this.die();
  }
}

describe('the media boundary (a fake worker, no sockets)', () => {
  it('round-trips commands and events as plain data, with error codes', async () => {
    const { log } = captureLog();
    const channel = new FakeChannel(0, log);
    channel.answer = (command, args) => {
      if (command === 'addViewer')
        return { answerSdp: `answer for ${(args as { viewerId: string }).viewerId}` };
      if (command === 'trickle') throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'no such WHEP session');
      return null;
    };
    const answer = await channel.request('addViewer', {
      cameraId: 'cam',
      viewerId: 'v1',
      offerSdp: 'v=0',
      owner: 't',
    });
    expect(answer).toEqual({ answerSdp: 'answer for v1' });
    await expect(
      channel.request('trickle', { cameraId: 'cam', viewerId: 'x', candidates: [] }),
    ).rejects.toMatchObject({
      code: 'WHEP_SESSION_NOT_FOUND',
    });
    const events: MediaEvent[] = [];
    channel.on('event', (e) => events.push(e));
    const live: MediaEvent = {
      event: 'cameraLive',
      data: {
        cameraId: 'cam',
        codecs: { video: 'video/H264', audio: 'audio/PCMU' },
        payloadTypes: [
          { payloadType: 96, mimeType: 'video/H264' },
          { payloadType: 0, mimeType: 'audio/PCMU' },
        ],
      },
    };
    channel.push(live);
    expect(events).toEqual([live]);
  });

  it('fails pending requests when the worker dies, and every later one at once', async () => {
    const { log } = captureLog();
    const channel = new FakeChannel(1, log);
    channel.hold = true;
    const exits: unknown[] = [];
    channel.on('exit', (info) => exits.push(info));
    // A request the worker takes and never answers; then the worker dies.
    const pending = channel.request('stats', {});
    channel.die();
    await expect(pending).rejects.toMatchObject({ code: 'MEDIA_WORKER_DIED' });
    expect(exits).toEqual([{ code: null, signal: 'SIGKILL', requested: false }]);
    await expect(channel.request('stats', {})).rejects.toMatchObject({ code: 'MEDIA_WORKER_DIED' });
  });

  it('logs a listener that throws; the other listeners and the emitter run on', () => {
    const { lines, log } = captureLog();
    const emitter = new SafeEmitter<{ tick: [n: number] }>(log);
    const seen: number[] = [];
    emitter.on('tick', () => {
      throw new Error('listener bug');
    });
    emitter.on('tick', (n) => seen.push(n));
    expect(() => emitter.emit('tick', 1)).not.toThrow();
    emitter.emit('tick', 2);
    expect(seen).toEqual([1, 2]);
    const failures = lines.filter((l) => l.msg === 'an event listener failed (ignored)');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ event: 'tick', err: { message: 'listener bug' } });
  });

  it('logs a listener whose promise rejects', async () => {
    const { lines, log } = captureLog();
    const emitter = new SafeEmitter<{ tick: [] }>(log);
    emitter.on('tick', async () => {
      throw new Error('async listener bug');
    });
    emitter.emit('tick');
    await waitFor(
      () => lines.some((l) => (l.err as { message?: string })?.message === 'async listener bug'),
      {
        what: 'the rejection logged',
      },
    );
  });

  it('runs a real engine in process through JSON (media.workers 0)', async () => {
    const { log } = captureLog();
    const init: WorkerInit = {
      workerId: 0,
      logLevel: 'info',
      engine: {
        timings: {
          answerTimeoutMs: 10_000,
          connectTimeoutMs: 15_000,
          lingerMs: 1000,
          retryBaseMs: 1000,
          retryMaxMs: 30_000,
          helloGraceMs: 2000,
        },
        keyframeIntervalMs: 500,
        viewerTimeoutMs: 15_000,
        peerOptions: { iceServers: [], additionalHostAddresses: [] },
      },
    };
    const channel = new InProcessChannel(init, log);
    // An offline camera: held, no peer, no socket.
    await channel.request('openCamera', { cameraId: 'cam', online: false, ice: { device: [], media: [] } });
    const stats = await channel.request('stats', {});
    plain(stats);
    expect(stats.cameras).toEqual([{ cameraId: 'cam', viewers: 0, taps: 0, upstreamPeers: 0, live: false }]);
    await expect(
      channel.request('trickle', { cameraId: 'other', viewerId: 'v', candidates: [] }),
    ).rejects.toMatchObject({ code: 'CAMERA_NOT_OPEN' });
    await channel.request('closeCamera', { cameraId: 'cam' });
    expect((await channel.request('stats', {})).cameras).toEqual([]);
    await channel.close();
    await expect(channel.request('stats', {})).rejects.toMatchObject({ code: 'MEDIA_WORKER_DIED' });
  });
});

/** The router over two fake workers and a fake MQTT side. */
function routerRig() {
  const { lines, log } = captureLog('debug');
  const workers = [new FakeChannel(0, log), new FakeChannel(1, log)];
  const pool = Object.assign(new SafeEmitter<{ ready: [MediaChannel]; died: [MediaChannel, object] }>(log), {
    ready: new Set<MediaChannel>(workers),
  });
  const sent: Array<{ deviceId: string; message: ServerMessage }> = [];
  const signaling = Object.assign(new EventEmitter(), {
    send: (deviceId: string, message: ServerMessage) => sent.push({ deviceId, message }),
    online: () => new Set(['early']),
  });
  const router = new MediaRouter({
    signaling: signaling as never,
    pool: pool as never,
    deviceExists: () => true,
    deviceIceServers: (id) => [{ urls: [`turn:example.test?for=${id}`] }],
    mediaIceServers: () => [],
    helloGraceMs: 2000,
    log,
    now: () => 0,
  });
  const presence = (id: string, online: boolean) => signaling.emit('presence', id, online);
  const message = (id: string, result: ParseResult<never>) => signaling.emit('message', id, result);
  return { router, workers, pool, sent, presence, message, lines };
}

describe('the media router (fake workers)', () => {
  it('places cameras on the least-loaded worker and replays what it knows of each', async () => {
    const { router, workers, presence, message } = routerRig();
    // A status the broker replayed before the router listened is known too.
    expect(router.isOnline('early')).toBe(true);
    presence('a', true);
    message('a', { ok: true, message: { v: 1, type: 'hello' } } as never);
    for (const id of ['a', 'b', 'c', 'd']) router.place(id);
    const held = workers.map((w) =>
      w.requests
        .filter((r) => r.command === 'openCamera')
        .map((r) => (r.args as { cameraId: string }).cameraId),
    );
    expect(held).toEqual([
      ['a', 'c'],
      ['b', 'd'],
    ]);
    expect(workers[0]!.requests[0]).toEqual({
      command: 'openCamera',
      args: {
        cameraId: 'a',
        online: true,
        graceMs: 2000,
        hello: { v: 1, type: 'hello' },
        ice: { device: [{ urls: ['turn:example.test?for=a'] }], media: [] },
      },
    });
  });

  it("routes a camera's signaling to its worker and the worker's back to the camera", async () => {
    const { router, workers, sent, message } = routerRig();
    router.place('a');
    const answer = { v: 1, type: 'answer', session: 's1', sdp: 'v=0' };
    message('a', { ok: true, message: answer } as never);
    expect(workers[0]!.requests.at(-1)).toEqual({
      command: 'signal',
      args: { cameraId: 'a', result: { ok: true, message: answer } },
    });
    const offer = { v: 1, type: 'offer', session: 's2', sdp: 'v=0' } as ServerMessage;
    workers[0]!.push({ event: 'signal', data: { cameraId: 'a', message: offer } });
    // The other worker does not hold `a`: its events about `a` are stale and dropped.
    workers[1]!.push({ event: 'signal', data: { cameraId: 'a', message: offer } });
    expect(sent).toEqual([{ deviceId: 'a', message: offer }]);
    // A camera nothing placed that answers anyway hears UNKNOWN_SESSION.
    message('z', { ok: true, message: answer } as never);
    expect(sent.at(-1)).toMatchObject({ deviceId: 'z', message: { type: 'error', code: 'UNKNOWN_SESSION' } });
  });

  it('keeps host candidates and viewers as the workers report them, and drops them with a dead worker', () => {
    const { router, workers, pool } = routerRig();
    const a = router.place('a');
    router.place('b');
    workers[0]!.push({
      event: 'hostCandidates',
      data: { cameraId: 'a', candidates: [{ address: '10.0.0.1', port: 5000 }] },
    });
    workers[1]!.push({
      event: 'hostCandidates',
      data: { cameraId: 'b', candidates: [{ address: '10.0.0.1', port: 6000 }] },
    });
    expect(router.upstreamHostCandidates()).toHaveLength(2);
    a.viewers.set('v1', { owner: 't', answered: true, requestedAt: 0 });
    workers[0]!.die();
    pool.ready.delete(workers[0]!);
    pool.emit('died', workers[0]!, {});
    expect(router.placements.has('a')).toBe(false);
    expect(router.upstreamHostCandidates()).toEqual([{ address: '10.0.0.1', port: 6000 }]);
    // Placed again, on the live worker.
    expect(router.place('a').channel).toBe(workers[1]);
  });

  it('holds a feed whose tap comes while no worker is ready, and places it when one is', async () => {
    const { router, workers, pool } = routerRig();
    pool.ready.clear(); // both workers dead, being replaced
    const feed = router.feed('a');
    feed.addDemand('recorder');
    try {
      // The feed binds its sockets, then asks for the tap: nothing to place it on yet, and no throw.
      await waitFor(() => feed.tap() !== undefined, { what: 'the feed ready to take RTP' });
      expect(router.placements.has('a')).toBe(false);
      pool.ready.add(workers[1]!);
      pool.emit('ready', workers[1]!);
      expect(router.placements.get('a')?.channel).toBe(workers[1]);
      expect(workers[1]!.requests.map((r) => r.command)).toEqual(['openCamera', 'addTap']);
    } finally {
      feed.removeDemand('recorder');
    }
  });

  it('closes an offline camera in its worker once its last viewer is gone', () => {
    const { router, workers, presence } = routerRig();
    presence('a', true);
    const a = router.place('a');
    a.viewers.set('v1', { owner: 't', answered: true, requestedAt: 0 });
    presence('a', false);
    expect(router.placements.has('a')).toBe(true); // a viewer still waits for it
    workers[0]!.push({ event: 'viewerClosed', data: { cameraId: 'a', viewerId: 'v1', reason: 'deleted' } });
    expect(router.placements.has('a')).toBe(false);
    expect(workers[0]!.requests.at(-1)).toEqual({ command: 'closeCamera', args: { cameraId: 'a' } });
  });
});
