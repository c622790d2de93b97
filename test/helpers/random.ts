import { onTestFailed } from 'vitest';

/** A deterministic source of random values for fuzz tests: same seed, same sequence. */
export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** `length` random bytes. */
  bytes(length: number): Buffer;
}

/** mulberry32: tiny, fast, good enough to drive a fuzzer, and replayable from one 32-bit seed. */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed a fuzz test runs with: `defaultSeed` (so CI is reproducible), unless `TEST_SEED`
 * is set: a number replays that seed, `random` explores a fresh one (printed on failure).
 * The variable is deliberately not `LOOKOUT_*`: that namespace is the server's configuration.
 */
export function fuzzSeed(defaultSeed: number): number {
  const override = process.env.TEST_SEED;
  if (!override) return defaultSeed;
  if (override === 'random') return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
  const seed = Number(override);
  if (!Number.isInteger(seed)) throw new Error(`TEST_SEED must be an integer or 'random', not '${override}'`);
  return seed >>> 0;
}

/** A seeded PRNG without test hooks (for helpers and harnesses). */
export function seededRandom(seed: number): SeededRandom {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return {
    seed,
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(items.length)]!;
    },
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(256))),
  };
}

/**
 * The PRNG a fuzz test draws from; call it inside the test. When the test fails, the seed is
 * printed with the command that replays it, so a failure found once can be found again.
 */
export function fuzzRandom(defaultSeed: number): SeededRandom {
  const random = seededRandom(fuzzSeed(defaultSeed));
  onTestFailed(({ task }) => {
    console.error(
      `\n*** fuzz test "${task.name}" failed with seed ${random.seed}; replay: TEST_SEED=${random.seed} ***\n`,
    );
  });
  return random;
}
