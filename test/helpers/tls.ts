import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

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

/** The SHA-256 fingerprint of the (first) certificate in a PEM file, as Node prints it. */
export function fileFingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/**
 * Opens a new TLS connection to 127.0.0.1:`port` (SNI localhost, any certificate accepted)
 * and resolves with the fingerprint of the certificate the server presented.
 */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
      socket.destroy();
      if (fingerprint) resolve(fingerprint);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}
