import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericNack, RtcpSrPacket, RtcpTransportLayerFeedback } from 'werift';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

/**
 * media/viewer-rtp-sender.ts writes viewers' RTP itself instead of werift's sender: what
 * werift's sender did besides sending must still happen. NACKs are answered (RTX when
 * negotiated, RFC 4588; in-band otherwise) and sender reports carry the current NTP time and
 * the packet counts.
 */
describe.runIf(hasFfmpeg)(
  'viewer RTP written past werift (in-process server and agent, werift viewers)',
  () => {
    let t: TestServer;
    let token: string;

    beforeAll(async () => {
      t = await startTestServer({ 'media.lingerMs': 1000 });
      token = (await t.server.registry.tokens.create('test')).token;
      await t.startCamera('cam1');
    });
    afterAll(() => t?.close());

    /** Plays cam1 and counts, per sequence number, the video packets the viewer's track got. */
    async function watch(accept: string[]) {
      const viewer = new WhepClient(t.httpUrl, token, { video: accept });
      const copies = new Map<number, number>();
      let ssrc = 0;
      viewer.pc.onTrack.subscribe((track) => {
        if (track.kind !== 'video') return;
        track.onReceiveRtp.subscribe((rtp) => {
          ssrc = rtp.header.ssrc;
          copies.set(rtp.header.sequenceNumber, (copies.get(rtp.header.sequenceNumber) ?? 0) + 1);
        });
      });
      const receiver = viewer.pc.getTransceivers().find((tx) => tx.kind === 'video')!.receiver;
      const reports: RtcpSrPacket[] = [];
      receiver.onRtcp.subscribe((packet) => {
        if (packet instanceof RtcpSrPacket) reports.push(packet);
      });
      expect((await viewer.play('cam1')).status).toBe(201);
      await waitFor(() => copies.size > 50, { timeoutMs: 15_000, what: 'video at the viewer' });
      /** Sends a generic NACK (RFC 4585 §6.2.1) for `lost`, as a browser's jitter buffer would. */
      const nack = (lost: number[]) =>
        receiver.dtlsTransport.sendRtcp([
          new RtcpTransportLayerFeedback({
            feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc, lost }),
          }),
        ]);
      return { viewer, copies, nack, reports, ssrc: () => ssrc };
    }

    it('answers a NACK with the packet again, in RTX when the viewer negotiated it', async () => {
      const { viewer, copies, nack } = await watch(['video/H264', 'video/rtx']);
      const rtxCodec = viewer.pc.getTransceivers()[0]!.codecs.find((c) => c.mimeType === 'video/rtx');
      expect(rtxCodec).toBeDefined();
      const asked = [...copies.keys()].slice(-5);
      await nack(asked);
      await waitFor(() => asked.every((seq) => copies.get(seq)! >= 2), {
        timeoutMs: 10_000,
        what: 'the NACKed packets again (unwrapped from RTX by werift)',
      });
      await viewer.stop();
    });

    it('answers a NACK in-band without RTX, and ignores sequence numbers it no longer has', async () => {
      const { viewer, copies, nack } = await watch(['video/H264']);
      const asked = [...copies.keys()].slice(-3);
      const newest = Math.max(...asked);
      // Far outside the history: nothing to send, nothing breaks.
      await nack([(newest + 30_000) & 0xffff, ...asked]);
      await waitFor(() => asked.every((seq) => copies.get(seq)! >= 2), {
        timeoutMs: 10_000,
        what: 'the NACKed packets again',
      });
      await viewer.stop();
    });

    it("sends sender reports with today's NTP time and the packets sent so far", async () => {
      const { viewer, copies, reports, ssrc } = await watch(['video/H264']);
      const before = copies.size;
      await waitFor(() => reports.some((r) => r.ssrc === ssrc() && r.senderInfo.packetCount >= before), {
        timeoutMs: 10_000,
        what: 'a sender report counting the packets received so far',
      });
      const report = reports.find((r) => r.ssrc === ssrc())!;
      const ntpSeconds = Number(report.senderInfo.ntpTimestamp >> 32n) - 2_208_988_800;
      expect(Math.abs(ntpSeconds - Date.now() / 1000)).toBeLessThan(60);
      expect(report.senderInfo.octetCount).toBeGreaterThan(report.senderInfo.packetCount * 100);
      await viewer.stop();
    });
  },
);
