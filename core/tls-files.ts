import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { LookoutError } from './errors.js';
import type { Logger } from './log.js';

/** A certificate chain file and its private key file (PEM). */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** What the log and the tests say about a served certificate. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validTo: Date;
  /** SHA-256 fingerprint, colon-separated hex (as `openssl x509 -fingerprint -sha256` prints). */
  fingerprint256: string;
}

/** The contents of a checked pair: the certificate parses and the key belongs to it. */
export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
  info: CertificateInfo;
}

/** A certificate expiring within this is warned about at start and on every reload. */
export const EXPIRY_WARNING_MS = 14 * 86_400_000;

/**
 * Reads and checks `files`, named in errors by `configKey` (`http.tls`, `mqtt.tls`). Throws a
 * LookoutError: TLS_FILE_UNREADABLE, TLS_CERT_INVALID (no PEM certificate, or one Node's TLS
 * refuses with `base` options), TLS_KEY_INVALID (no PEM private key) or TLS_KEY_MISMATCH (the
 * key is not the certificate's: a mismatched or half-replaced pair).
 */
export function readCertificatePair(
  files: TlsFiles,
  configKey: string,
  base: SecureContextOptions = {},
): CertificatePair {
  const cert = readPem(files.cert, `${configKey}.cert`);
  const key = readPem(files.key, `${configKey}.key`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new LookoutError(
      'TLS_CERT_INVALID',
      `${configKey}.cert file ${files.cert} holds no PEM certificate: ${(err as Error).message}`,
      { file: files.cert },
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new LookoutError(
      'TLS_KEY_INVALID',
      `${configKey}.key file ${files.key} holds no PEM private key (an encrypted key is not supported): ${(err as Error).message}`,
      { file: files.key },
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new LookoutError(
      'TLS_KEY_MISMATCH',
      `${configKey}.key (${files.key}) is not the private key of the certificate in ${configKey}.cert (${files.cert}): a mismatched pair, or one file replaced and not yet the other`,
      { cert: files.cert, key: files.key },
    );
  }
  try {
    createSecureContext({ ...base, cert, key });
  } catch (err) {
    throw new LookoutError(
      'TLS_CERT_INVALID',
      `${configKey}: the certificate in ${files.cert} cannot be served: ${(err as Error).message}`,
      { file: files.cert },
    );
  }
  return {
    cert,
    key,
    info: {
      subject: x509.subject.replaceAll('\n', ', '),
      issuer: x509.issuer.replaceAll('\n', ', '),
      validTo: new Date(x509.validTo),
      fingerprint256: x509.fingerprint256,
    },
  };
}

/**
 * Logs the certificate being served (`message`), and a warning when it has expired or
 * expires within EXPIRY_WARNING_MS of `now`.
 */
export function logCertificate(log: Logger, info: CertificateInfo, now: number, message: string): void {
  const fields = {
    subject: info.subject,
    issuer: info.issuer,
    validTo: info.validTo.toISOString(),
    fingerprint256: info.fingerprint256,
  };
  log.info(fields, message);
  const left = info.validTo.getTime() - now;
  if (left <= 0) log.warn(fields, 'TLS certificate has expired: clients will refuse it; replace the files');
  else if (left < EXPIRY_WARNING_MS) {
    const days = Math.floor(left / 86_400_000);
    log.warn(
      { ...fields, days },
      `TLS certificate expires in ${days} days: replace the files (reloaded on change)`,
    );
  }
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new LookoutError(
      'TLS_FILE_UNREADABLE',
      `cannot read ${key} file ${file}: ${(err as Error).message}`,
      { file },
    );
  }
}
