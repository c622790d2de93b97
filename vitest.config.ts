import { defineConfig } from 'vitest/config';

/**
 * Tests that add network interfaces to this machine (the NAT lab's veths) run on their own,
 * after everything else: a WebRTC session of a test running beside them would gather the
 * lab's addresses as host candidates and fail when the lab is torn down.
 */
const ALONE = ['test/e2e/nat-traversal.test.ts'];

export default defineConfig({
  test: {
    // Generous on purpose: tests wait on conditions (waitFor) with their own bounds, and on a
    // 2-core machine under load a real process (node + tsx, ffmpeg, Chromium) can take seconds to
    // start. A timeout here is a last resort against a hang, not a measure of speed; it costs
    // nothing on a quiet machine, where the suite takes a few minutes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests open real sockets and processes; two cores run two files at a time.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // The browser tests load web/dist/: built from web/src first when stale.
    globalSetup: ['./test/helpers/build-web-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'alone', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
