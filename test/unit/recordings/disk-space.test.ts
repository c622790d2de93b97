import { describe, expect, it } from 'vitest';
import { DiskSpace, isDiskFullError } from '../../../recordings/disk-space.js';

const MB = 1_048_576;
const policy = {
  minFreeBytes: 100 * MB,
  resumeFreeBytes: 200 * MB,
  checkMs: 2000,
  backoff: { initialMs: 1000, maxMs: 8000 },
};

describe('DiskSpace (when recording pauses for a full disk and resumes)', () => {
  it('pauses under the minimum, resumes only at the higher mark, looking again with back-off meanwhile', () => {
    const disk = new DiskSpace(policy);
    expect(disk.observe(500 * MB)).toBe('ok');
    expect(disk.nextCheckMs()).toBe(2000);
    expect(disk.observe(undefined)).toBe('ok');
    expect(disk.observe(99 * MB)).toBe('became-full');
    expect(disk.full).toBe(true);
    expect(disk.nextCheckMs()).toBe(1000);
    // Just over the minimum is not enough to resume (no flapping on the edge).
    expect(disk.observe(150 * MB)).toBe('still-full');
    expect(disk.nextCheckMs()).toBe(2000);
    expect(disk.observe(0)).toBe('still-full');
    expect(disk.observe(undefined)).toBe('still-full');
    expect(disk.nextCheckMs()).toBe(8000);
    expect(disk.observe(0)).toBe('still-full');
    expect(disk.nextCheckMs()).toBe(8000);
    expect(disk.observe(200 * MB)).toBe('recovered');
    expect(disk.full).toBe(false);
    expect(disk.nextCheckMs()).toBe(2000);
  });

  it('a write that failed for want of space means full, whatever the last measurement said', () => {
    const disk = new DiskSpace(policy);
    expect(disk.observe(500 * MB)).toBe('ok');
    expect(disk.writeFailed()).toBe('became-full');
    expect(disk.writeFailed()).toBe('still-full');
    expect(disk.observe(150 * MB)).toBe('still-full');
    expect(disk.observe(300 * MB)).toBe('recovered');
  });

  it('tells disk-full errors (fs, SQLite, ffmpeg stderr, DISK_FULL) from others', () => {
    expect(isDiskFullError(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toBe(true);
    expect(
      isDiskFullError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })),
    ).toBe(true);
    expect(
      isDiskFullError('ffmpeg exited with code 1: av_interleaved_write_frame(): No space left on device'),
    ).toBe(true);
    expect(isDiskFullError(Object.assign(new Error('x'), { code: 'DISK_FULL' }))).toBe(true);
    expect(isDiskFullError('ffmpeg exited with code 1: bind failed')).toBe(false);
    expect(isDiskFullError(undefined)).toBe(false);
  });
});
