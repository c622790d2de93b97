import { describe, expect, it } from 'vitest';
import { issueTurnCredentials, parseTurnUsername, verifyTurnCredentials } from '../../../turn/credentials.js';

const SECRET = 'a-test-secret-of-enough-length';
const NOW = 1_767_225_600_000;

describe('TURN REST credentials', () => {
  it('put the device secret generation under the HMAC: <expiry>:<device>:<generation>', () => {
    const c = issueTurnCredentials({
      secret: SECRET,
      deviceId: 'front-door',
      generation: 4,
      ttlSeconds: 60,
      nowMs: NOW,
    });
    expect(c.username).toBe(`${NOW / 1000 + 60}:front-door:4`);
    expect(parseTurnUsername(c.username)).toEqual({
      expiresAt: NOW / 1000 + 60,
      user: 'front-door',
      generation: 4,
    });
    expect(verifyTurnCredentials(SECRET, c.username, c.credential, NOW)).toBe(true);
    // Another generation is another username: the password does not carry over.
    const forged = c.username.replace(/:4$/, ':5');
    expect(verifyTurnCredentials(SECRET, forged, c.credential, NOW)).toBe(false);
  });

  it('service users carry no generation', () => {
    const c = issueTurnCredentials({ secret: SECRET, deviceId: '$media', ttlSeconds: 60, nowMs: NOW });
    expect(c.username).toBe(`${NOW / 1000 + 60}:$media`);
    expect(parseTurnUsername(c.username)).toEqual({
      expiresAt: NOW / 1000 + 60,
      user: '$media',
      generation: undefined,
    });
  });

  it.each([
    'cam1',
    '12:',
    ':cam1',
    '12:cam1:',
    '12:cam1:x',
    '12:a:b:1',
    '12:cam1:1234567890',
    `12:${'a'.repeat(129)}`,
  ])('refuses the username %j', (username) => {
    expect(parseTurnUsername(username)).toBeUndefined();
  });
});
