import { describe, expect, it } from 'vitest';
import { PeerFilter } from '../../../turn/peer-filter.js';

describe('PeerFilter defaults (coturn-style safe defaults)', () => {
  const filter = new PeerFilter({ allowed: [], denied: [] });
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '::1',
    '::ffff:127.0.0.1',
    '0.0.0.0',
    '::',
    '169.254.169.254',
    'fe80::1',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    'fd00::1',
    '224.0.0.1',
    '239.255.255.250',
    'ff02::1',
    '255.255.255.255',
    '::ffff:10.0.0.1',
    '64:ff9b::7f00:1', // NAT64 form of 127.0.0.1
    '2002:a00:1::1', // 6to4 form of 10.0.0.1
    'not-an-ip',
  ])('denies %s', (ip) => {
    expect(filter.allows(ip, 5000)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])(
    'allows %s',
    (ip) => {
      expect(filter.allows(ip, 5000)).toBe(true);
    },
  );
});

describe('PeerFilter lists and hook', () => {
  it('lets the allow list win over the default and the deny list', () => {
    const filter = new PeerFilter({ allowed: ['127.0.0.0/8', '10.1.2.3'], denied: ['10.0.0.0/8'] });
    expect(filter.allows('127.0.0.1', 1)).toBe(true);
    expect(filter.allows('::ffff:127.0.0.1', 1)).toBe(true);
    expect(filter.allows('10.1.2.3', 1)).toBe(true);
    expect(filter.allows('10.1.2.4', 1)).toBe(false);
  });

  it('adds the deny list to the defaults', () => {
    const filter = new PeerFilter({ allowed: [], denied: ['8.8.8.0/24', '2001:db8::/32'] });
    expect(filter.allows('8.8.8.8', 1)).toBe(false);
    expect(filter.allows('8.8.4.4', 1)).toBe(true);
    expect(filter.allows('2001:db8::5', 1)).toBe(false);
  });

  it('asks the allowPeer hook first, per port', () => {
    const filter = new PeerFilter({
      allowed: [],
      denied: [],
      allowPeer: (ip, port) => ip === '192.168.1.10' && port === 40000,
    });
    expect(filter.allows('192.168.1.10', 40000)).toBe(true);
    expect(filter.allows('::ffff:192.168.1.10', 40000)).toBe(true);
    expect(filter.allows('192.168.1.10', 22)).toBe(false);
  });

  it("denies the server's own addresses unless the hook or the allow list allows them", () => {
    const filter = new PeerFilter({
      allowed: ['198.51.100.20'],
      denied: [],
      own: ['198.51.100.10', '198.51.100.20'],
      allowPeer: (ip, port) => ip === '198.51.100.10' && port === 40000, // the media node's socket
    });
    expect(filter.allows('198.51.100.10', 3478)).toBe(false); // its own listener
    expect(filter.allows('::ffff:198.51.100.10', 50000)).toBe(false); // a relay port, mapped
    expect(filter.allows('198.51.100.10', 40000)).toBe(true);
    expect(filter.allows('198.51.100.20', 9)).toBe(true);
    expect(filter.allows('198.51.100.11', 9)).toBe(true);
  });
});
