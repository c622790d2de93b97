import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedFrames, launchChromium, openViewer } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { createNatLab, type NatLab, requireNetns } from '../helpers/netns.js';
import type { RunningProcess } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { startTurnForTest, type TurnEndpoint, type TurnKind } from '../helpers/turn-endpoint.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * NAT traversal with real parts: lookout serve and a TURN server in the root namespace, the
 * reference agent in a camera namespace behind a MASQUERADE router whose filter lets the camera
 * reach only the broker and the TURN port, headless Chromium watching. Each case proves the
 * media took the relay: the agent's selected ICE pair is local `relay`, and the router dropped
 * the camera's direct attempts.
 */
const TURN_KINDS: TurnKind[] = ['embedded', 'coturn'];
const LIFETIME_S = 8;

const ready =
  requireNetns() &&
  requireTool('turnserver', ['--version']) &&
  requireTool('ffmpeg', ['-version']) &&
  requireTool('chromium', ['--version']);

/** The `ice` field of a process's last `msg` line: `{ local: 'relay udp 10.0.0.1:5000', remote: ... }`. */
function icePair(logs: string, msg: string): { local: string; remote: string } | undefined {
  const line = logs
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .at(-1);
  return line ? (JSON.parse(line) as { ice?: { local: string; remote: string } }).ice : undefined;
}

for (const kind of TURN_KINDS) {
  describe.runIf(ready)(`NAT traversal through TURN (${kind}): camera behind NAT, viewer in Chromium`, () => {
    let lab: NatLab;
    let turn: TurnEndpoint;
    let rig: CameraRig;
    let chromium: Awaited<ReturnType<typeof launchChromium>>;

    beforeAll(async () => {
      lab = createNatLab();
      turn = await startTurnForTest(kind, {
        listenIp: lab.serverIp,
        relayIp: lab.serverIp,
        allowedPeerIp: lab.serverIp,
      });
      rig = await startCameraRig({
        mqttHost: lab.serverIp,
        serveEnv: {
          ...turn.serveEnv,
          // Short allocations: every case lives through several refreshes (werift refreshes at 5/6).
          ...(kind === 'embedded'
            ? { LOOKOUT_TURN_MAX_ALLOCATION_LIFETIME_SECONDS: String(LIFETIME_S) }
            : {}),
          LOOKOUT_MEDIA_LINGER_MS: '1000',
          // The TCP case spends ~6.4 s of the default 10 s answer budget on werift's UDP attempt;
          // on a loaded CI machine that is too tight to be a fair test of the relay itself.
          LOOKOUT_MEDIA_ANSWER_TIMEOUT_MS: '20000',
        },
        video: { width: 640, height: 360, bitrateKbps: 600 },
        audio: { codec: 'none' },
      });
      chromium = await launchChromium();
    }, 60_000);

    afterAll(async () => {
      await chromium?.close();
      const serveCode = await rig?.serve.stop();
      await rig?.close();
      await turn?.close();
      lab?.close();
      // With its own TURN allocations (external mode) the server still shuts down cleanly.
      expect(serveCode).toBe(0);
      expect(
        rig?.serve
          .logs()
          .split('\n')
          .find((l) => l.includes('handles still open')),
      ).toBeUndefined();
    }, 30_000);

    /** Starts cam1 in the camera namespace, plays it until 20 frames are decoded, stops both. */
    async function relayedSession(agentOptions: { edgeFile?: string } = {}): Promise<{
      agent: RunningProcess;
      agentPair: { local: string; remote: string };
      serverPair: { local: string; remote: string };
    }> {
      const agent = rig.startAgent({ netns: lab.cameraNs, ...agentOptions });
      let result: Awaited<ReturnType<typeof relayedSession>>;
      try {
        await rig.waitOnline();
        const page = await openViewer(chromium.browser, rig.base, rig.token, 'cam1');
        await waitFor(async () => (await decodedFrames(page, 'cam1')) > 20, {
          timeoutMs: 30_000,
          what: `frames relayed through ${kind}`,
        }).catch((err: Error) => {
          throw new Error(`${err.message}\nagent:\n${agent.logs()}\nturn:\n${turn.logs().slice(-3000)}`);
        });
        await page.close();
        const agentPair = icePair(agent.logs(), 'ICE connected');
        const serverPair = icePair(rig.serve.logs(), 'camera ICE connected');
        expect(agentPair, 'the agent logs its selected pair').toBeDefined();
        expect(serverPair, 'the media node logs its selected pair').toBeDefined();
        result = { agent, agentPair: agentPair!, serverPair: serverPair! };
      } finally {
        await agent.stop();
      }
      expect(agent.child.exitCode, 'the agent shut down cleanly').toBe(0);
      return result;
    }

    it('streams from a camera whose only open path is the TURN port (UDP), through the relay', async () => {
      lab.firewall({ udp: [turn.port], tcp: [turn.port, rig.serve.mqtt] });
      const { agentPair, serverPair } = await relayedSession();
      // The camera's end of the pair is its relayed address on the TURN server.
      expect(agentPair.local).toMatch(new RegExp(`^relay udp ${lab.serverIp.replaceAll('.', '\\.')}:\\d+$`));
      // The media node receives from the camera's relayed address, on one of its own host
      // candidates (which one is ICE's choice: this machine's other addresses reach the relay too).
      expect(serverPair.remote).toBe(agentPair.local);
      expect(serverPair.local).toMatch(/^host udp /);
      expect(agentPair.remote).toMatch(/^host udp /);
      const counts = lab.counters();
      expect(counts[`udp:${turn.port}`], 'camera to TURN over UDP').toBeGreaterThan(0);
      // Direct paths were tried (the camera's host candidate checks the media node's) and failed.
      expect(counts.dropped, 'direct attempts dropped by the router').toBeGreaterThan(0);
    }, 60_000);

    it('falls back to TURN over TCP when the camera cannot send any UDP', async () => {
      lab.firewall({ tcp: [turn.port, rig.serve.mqtt] });
      const { agentPair } = await relayedSession();
      // werift still gives a UDP relay candidate (the allocation is UDP on the server side).
      expect(agentPair.local).toMatch(/^relay udp /);
      const counts = lab.counters();
      expect(counts[`tcp:${turn.port}`], 'camera to TURN over TCP').toBeGreaterThan(0);
      // Its UDP allocation request and its direct checks all died at the router.
      expect(counts.dropped).toBeGreaterThan(0);
    }, 60_000);

    it('relays a camera whose edge config says ice.forceRelay, though a direct path is open', async () => {
      lab.firewall({ open: true });
      const edgeFile = path.join(rig.dir, 'cam1-force-relay.json');
      const edge = JSON.parse(readFileSync(rig.edgeFile, 'utf8'));
      writeFileSync(edgeFile, JSON.stringify({ ...edge, ice: { forceRelay: true } }));
      const { agent, agentPair } = await relayedSession({ edgeFile });
      expect(agent.logs()).toMatch(/"forceRelay":true[^\n]*"msg":"agent started"/);
      expect(agentPair.local).toMatch(/^relay udp /);
      expect(lab.counters().open, 'the camera used the open router').toBeGreaterThan(0);
    }, 60_000);

    // Only the embedded server's lifetime is set from lookout serve: the case exists once, never skipped.
    if (kind === 'embedded')
      it('keeps a relayed session playing through several allocation refreshes', async () => {
        lab.firewall({ udp: [turn.port], tcp: [turn.port, rig.serve.mqtt] });
        const agent = rig.startAgent({ netns: lab.cameraNs });
        try {
          await rig.waitOnline();
          const page = await openViewer(chromium.browser, rig.base, rig.token, 'cam1');
          await waitFor(async () => (await decodedFrames(page, 'cam1')) > 20, {
            timeoutMs: 30_000,
            what: 'relayed frames',
          });
          const logFrom = rig.serve.logs().length;
          // Three allocation lifetimes: without working refreshes the relay would be gone twice over.
          await new Promise((resolve) => setTimeout(resolve, 3 * LIFETIME_S * 1000 + 1000));
          const before = await decodedFrames(page, 'cam1');
          await waitFor(async () => (await decodedFrames(page, 'cam1')) > before + 20, {
            timeoutMs: 10_000,
            what: 'frames still arriving after three allocation lifetimes',
          });
          await page.close();
          // The relay the camera's selected pair uses never expired (an earlier case's allocation,
          // which werift never releases, may: that one is not in use).
          const inUse = icePair(agent.logs(), 'ICE connected')?.local ?? '';
          expect(inUse).toMatch(/^relay udp /);
          const relay = inUse.split(' ').at(-1)!;
          const ended = rig.serve
            .logs()
            .slice(logFrom)
            .split('\n')
            .filter((l) => l.includes('"msg":"allocation ended"') && l.includes(`"relay":"${relay}"`));
          expect(ended, 'the allocation in use never ended').toEqual([]);
        } finally {
          await agent.stop();
        }
      }, 90_000);
  });
}
