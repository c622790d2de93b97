import { describe, expect, it } from 'vitest';
import { hashPassword, NO_PASSWORD, verifyPassword } from '../../../devices/passwords.js';

describe('passwords (scrypt, D34)', () => {
  it('hashes with a fresh salt and the parameters in the string, and verifies', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsf', a)).toBe(false);
    // Unicode is compared normalised: the same word typed two ways matches.
    expect(await verifyPassword('cafe\u0301 au lait', await hashPassword('caf\u00e9 au lait'))).toBe(true);
    await expect(hashPassword('short')).rejects.toMatchObject({ code: 'PASSWORD_INVALID' });
  });

  it('never rejects, whatever is stored or typed', async () => {
    const stored = await hashPassword('correct horse');
    for (const bad of [
      '',
      'nonsense',
      NO_PASSWORD,
      'scrypt$1$8$1$AA$AA',
      'scrypt$99999999$8$1$AA$AA',
      'scrypt$32768$8$1$%%%$%%%',
      stored.replace('scrypt', 'bcrypt'),
    ]) {
      expect(await verifyPassword('correct horse', bad)).toBe(false);
    }
    expect(await verifyPassword('', stored)).toBe(false);
    expect(await verifyPassword('x'.repeat(5000), stored)).toBe(false);
  });
});
