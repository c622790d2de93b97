import { describe, expect, it } from 'vitest';
import { KeyframeRequests } from '../../../media/keyframe-requests.js';
import { fuzzRandom } from '../../helpers/random.js';

describe('KeyframeRequests', () => {
  it('sends a request, absorbs the next ones until a keyframe arrives, then allows one per minIntervalMs', () => {
    const gate = new KeyframeRequests(500, 1500);
    expect(gate.request(0)).toEqual({ send: true, retryInMs: 1500 });
    expect(gate.request(200)).toEqual({ send: false, retryInMs: 1300 });
    expect(gate.request(900)).toEqual({ send: false, retryInMs: 600 });
    gate.video(0, true);
    expect(gate.wanted).toBe(false);
    expect(gate.request(950)).toEqual({ send: true, retryInMs: 1500 });
    gate.video(0, true);
    expect(gate.request(1000)).toEqual({ send: false, retryInMs: 450 });
    expect(gate.wanted).toBe(true);
    expect(gate.request(1450).send).toBe(true);
  });

  it('sends again when no keyframe answered within timeoutMs', () => {
    const gate = new KeyframeRequests(500, 1500);
    expect(gate.request(0).send).toBe(true);
    expect(gate.request(1499).send).toBe(false);
    expect(gate.request(1500).send).toBe(true);
  });

  it('a session that starts counts as a request: nothing is sent before its first keyframe or the timeout', () => {
    const gate = new KeyframeRequests(500, 1500);
    gate.sessionStarted(10_000);
    expect(gate.request(10_100)).toEqual({ send: false, retryInMs: 1400 });
    gate.video(0, true);
    expect(gate.request(10_200).send).toBe(true);
    gate.sessionStarted(20_000);
    expect(gate.request(21_500).send).toBe(true);
  });

  it("sends a held-back request as soon as the session's first frame turns out not to be a keyframe", () => {
    const gate = new KeyframeRequests(500, 1500);
    gate.sessionStarted(0);
    expect(gate.request(10).send).toBe(false);
    expect(gate.video(3000, false)).toBe(false); // the first frame: its other packets may hold the keyframe
    expect(gate.video(3000, false)).toBe(false);
    expect(gate.video(6000, false)).toBe(true); // the next frame: the first was not a keyframe
    expect(gate.request(20).send).toBe(true);
    expect(gate.video(9000, false)).toBe(false);
    // A first frame that is a keyframe settles it too.
    gate.sessionStarted(5000);
    expect(gate.video(100, true)).toBe(false);
    expect(gate.wanted).toBe(false);
  });

  it('reset() forgets what was wanted and awaited', () => {
    const gate = new KeyframeRequests(0, 1500);
    gate.sessionStarted(0);
    gate.request(10);
    gate.reset();
    expect(gate.wanted).toBe(false);
    expect(gate.request(20).send).toBe(true);
  });

  it('fuzzed: sends are at least minIntervalMs apart, and while one is awaited none follows within timeoutMs', () => {
    const random = fuzzRandom(1500);
    const gate = new KeyframeRequests(500, 1500);
    let now = 0;
    let lastSent = Number.NEGATIVE_INFINITY;
    let awaitedSince: number | undefined;
    for (let i = 0; i < 20_000; i++) {
      now += random.int(300);
      const event = random.int(10);
      if (event === 0) {
        gate.video(0, true);
        awaitedSince = undefined;
      } else if (event === 1) {
        gate.sessionStarted(now);
        awaitedSince = now;
      } else {
        const { send, retryInMs } = gate.request(now);
        expect(retryInMs).toBeGreaterThan(0);
        if (send) {
          expect(now - lastSent).toBeGreaterThanOrEqual(500);
          if (awaitedSince !== undefined) expect(now - awaitedSince).toBeGreaterThanOrEqual(1500);
          lastSent = now;
          awaitedSince = now;
        }
      }
    }
  });
});
