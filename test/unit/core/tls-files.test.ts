import { copyFileSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPIRY_WARNING_MS, logCertificate, readCertificatePair } from '../../../core/tls-files.js';
import { TLS_SERVER_OPTIONS } from '../../../core/tls-options.js';
import { ReloadingCertificate } from '../../../core/tls-reload.js';
import { captureLog } from '../../helpers/log.js';
import { fileFingerprint, selfSignedCert } from '../../helpers/tls.js';
import { tempDir } from '../../helpers/tmp.js';
import { requireTool } from '../../helpers/tools.js';
import { waitFor } from '../../helpers/wait-for.js';

const hasOpenssl = requireTool('openssl', ['version']);
const tmp = tempDir();
afterAll(() => tmp.remove());

let n = 0;
function pair(key: 'ec' | 'rsa' = 'ec') {
  const dir = path.join(tmp.dir, `pair-${n++}`);
  mkdirSync(dir);
  return selfSignedCert(dir, key);
}

describe.runIf(hasOpenssl)('readCertificatePair', () => {
  it('reads a pair and describes its certificate', () => {
    const p = pair('rsa');
    const read = readCertificatePair({ cert: p.certFile, key: p.keyFile }, 'http.tls', TLS_SERVER_OPTIONS);
    expect(read.info.subject).toBe('CN=localhost');
    expect(read.info.fingerprint256).toBe(fileFingerprint(p.certFile));
    expect(read.info.validTo.getTime()).toBeGreaterThan(Date.now());
  });

  it.each([
    [
      'a missing file',
      'TLS_FILE_UNREADABLE',
      (p: ReturnType<typeof pair>) => ({ cert: `${p.certFile}.gone`, key: p.keyFile }),
    ],
    [
      'no certificate in the cert file',
      'TLS_CERT_INVALID',
      (p: ReturnType<typeof pair>) => ({ cert: p.keyFile, key: p.keyFile }),
    ],
    [
      'no key in the key file',
      'TLS_KEY_INVALID',
      (p: ReturnType<typeof pair>) => ({ cert: p.certFile, key: p.certFile }),
    ],
    [
      'the key of another certificate',
      'TLS_KEY_MISMATCH',
      (p: ReturnType<typeof pair>) => ({ cert: p.certFile, key: pair().keyFile }),
    ],
  ])('refuses %s with %s, naming the config key', (_what, code, files) => {
    let caught: unknown;
    try {
      readCertificatePair(files(pair()), 'mqtt.tls');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code, message: expect.stringContaining('mqtt.tls') });
  });

  it('refuses a half-written certificate file', () => {
    const p = pair();
    const half = path.join(tmp.dir, 'half.pem');
    writeFileSync(half, '-----BEGIN CERTIFICATE-----\nMIIB');
    expect(() => readCertificatePair({ cert: half, key: p.keyFile }, 'http.tls')).toThrow(
      expect.objectContaining({ code: 'TLS_CERT_INVALID' }),
    );
  });
});

describe('logCertificate', () => {
  const info = { subject: 'CN=x', issuer: 'CN=x', validTo: new Date(100 * 86_400_000), fingerprint256: 'AA' };
  const warnings = (now: number) => {
    const { lines, log } = captureLog('info');
    logCertificate(log, info, now, 'loaded');
    return lines.filter((l) => l.level === 40).map((l) => String(l.msg));
  };

  it('warns within 14 days of expiry and after it, not before', () => {
    const validTo = info.validTo.getTime();
    expect(warnings(validTo - EXPIRY_WARNING_MS - 1)).toEqual([]);
    expect(warnings(validTo - 3 * 86_400_000 - 1000)).toEqual([expect.stringContaining('expires in 3 days')]);
    expect(warnings(validTo + 1)).toEqual([expect.stringContaining('has expired')]);
  });
});

describe.runIf(hasOpenssl)('ReloadingCertificate.reload', () => {
  it('swaps only a changed valid pair, logs a bad one once, and never throws', () => {
    const dir = path.join(tmp.dir, 'served');
    mkdirSync(dir);
    const files = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    const first = pair();
    copyFileSync(first.certFile, files.cert);
    copyFileSync(first.keyFile, files.key);
    const { lines, log } = captureLog('info');
    // A long debounce: only the explicit reload() calls below act.
    const cert = new ReloadingCertificate(files, {
      configKey: 'http.tls',
      base: {},
      log,
      debounceMs: 600_000,
    });
    try {
      expect(cert.reload()).toBe(false); // same contents
      const next = pair();
      copyFileSync(next.certFile, files.cert); // key not yet replaced
      expect(cert.reload()).toBe(false);
      expect(cert.reload()).toBe(false);
      const errors = lines.filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'TLS_KEY_MISMATCH', serving: fileFingerprint(first.certFile) });
      expect(cert.info.fingerprint256).toBe(fileFingerprint(first.certFile));
      copyFileSync(next.keyFile, files.key);
      expect(cert.reload()).toBe(true);
      expect(cert.info.fingerprint256).toBe(fileFingerprint(next.certFile));
      expect(lines.at(-2)).toMatchObject({ msg: 'TLS certificate reloaded', tls: 'http.tls' });
    } finally {
      cert.close();
    }
    expect(cert.reload()).toBe(false); // closed
  });
});

describe.runIf(hasOpenssl)('ReloadingCertificate watching a certbot-style live/ directory', () => {
  it('follows symlinks swapped to a new archive pair', async () => {
    const root = path.join(tmp.dir, 'letsencrypt');
    const [live, archive] = [path.join(root, 'live'), path.join(root, 'archive')];
    mkdirSync(live, { recursive: true });
    mkdirSync(archive);
    const link = (name: string, target: string) => {
      // certbot makes the new link beside the old one and renames it over
      symlinkSync(target, path.join(live, `${name}.new`));
      renameSync(path.join(live, `${name}.new`), path.join(live, name));
    };
    const first = pair();
    copyFileSync(first.certFile, path.join(archive, 'fullchain1.pem'));
    copyFileSync(first.keyFile, path.join(archive, 'privkey1.pem'));
    link('fullchain.pem', path.join(archive, 'fullchain1.pem'));
    link('privkey.pem', path.join(archive, 'privkey1.pem'));
    const { log } = captureLog();
    const cert = new ReloadingCertificate(
      { cert: path.join(live, 'fullchain.pem'), key: path.join(live, 'privkey.pem') },
      { configKey: 'http.tls', base: {}, log, debounceMs: 20 },
    );
    try {
      expect(cert.info.fingerprint256).toBe(fileFingerprint(first.certFile));
      const next = pair();
      copyFileSync(next.certFile, path.join(archive, 'fullchain2.pem'));
      copyFileSync(next.keyFile, path.join(archive, 'privkey2.pem'));
      link('fullchain.pem', path.join(archive, 'fullchain2.pem'));
      link('privkey.pem', path.join(archive, 'privkey2.pem'));
      await waitFor(() => cert.info.fingerprint256 === fileFingerprint(next.certFile), {
        what: 'the renewed certificate in service',
      });
    } finally {
      cert.close();
    }
  });
});
