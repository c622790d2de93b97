import type { TlsOptions } from 'node:tls';

/**
 * TLS for the `mqtts` listener and HTTPS: TLS 1.2 and 1.3 only, and on TLS 1.2 only ECDHE key exchange
 * with AEAD ciphers (forward secrecy; no CBC, no static RSA such as AES128-SHA). This is
 * Mozilla's "intermediate" profile without its DHE suites (RFC 7919 groups are rarely
 * implemented by embedded TLS stacks, and every mbedTLS/wolfSSL build cameras use offers ECDHE).
 * TLS 1.3 suites are named explicitly: Node takes both lists from `ciphers`.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_SERVER_OPTIONS: TlsOptions = {
  minVersion: 'TLSv1.2',
  ciphers: TLS_CIPHERS,
  honorCipherOrder: true,
};
