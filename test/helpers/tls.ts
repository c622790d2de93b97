import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * A self-signed certificate for `localhost` and 127.0.0.1, valid for a day, written into `dir`
 * (needs the openssl CLI: callers check `requireTool('openssl', ...)`). `ec` is P-256; `rsa`
 * (2048 bits) is for tests that need static-RSA suites to be possible at all.
 */
export function selfSignedCert(dir: string, key: 'ec' | 'rsa' = 'ec'): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const keyArgs =
    key === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  // biome-ignore format: openssl's arguments read best in pairs
  execFileSync('openssl', [
    'req', '-x509', ...keyArgs, '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { certFile, keyFile };
}
