import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configKeys, loadConfig } from '../../../config/index.js';
import { LookoutError } from '../../../core/errors.js';
import { tempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function file(name: string, text: string): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  const p = path.join(tmp.dir, name);
  writeFileSync(p, text);
  return p;
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(LookoutError);
    expect((err as LookoutError).code).toBe('CONFIG_INVALID');
    return (err as LookoutError).details.problems as string[];
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('has the documented defaults with no input at all', () => {
    const config = loadConfig();
    expect(config.dataDir).toBe('./data');
    expect(config.http.port).toBe(8080);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.mqtt.port).toBe(1883);
    expect(config.mqtt.host).toBe('0.0.0.0');
    expect(config.turn.port).toBe(3478);
    expect(config.mqtt.topicPrefix).toBe('lookout');
    expect(config.mqtt.tls.cert).toBeUndefined();
  });

  it('layers defaults <- file <- env <- flags', () => {
    const f = file(
      'c.json',
      JSON.stringify({
        http: { port: 9001, host: '127.0.0.1' },
        mqtt: { port: 2000 },
        dataDir: '/from-file',
      }),
    );
    const config = loadConfig({
      file: f,
      env: { LOOKOUT_HTTP_PORT: '9002', LOOKOUT_MQTT_PORT: '2001' },
      flags: { 'mqtt.port': 2002 },
    });
    expect(config.http.host).toBe('127.0.0.1'); // file
    expect(config.http.port).toBe(9002); // env beats file
    expect(config.mqtt.port).toBe(2002); // flag beats env
    expect(config.dataDir).toBe('/from-file');
    expect(config.mqtt.maxPacketBytes).toBe(262_144); // default survives partial objects
  });

  it('reads YAML files and LOOKOUT_CONFIG', () => {
    const f = file('c.yaml', 'http:\n  port: 7000\nmqtt:\n  authBackoff:\n    maxFailures: 2\n');
    const config = loadConfig({ env: { LOOKOUT_CONFIG: f } });
    expect(config.http.port).toBe(7000);
    expect(config.mqtt.authBackoff.maxFailures).toBe(2);
  });

  it('rejects unknown keys in a file, naming the key and the file', () => {
    const f = file('c.json', JSON.stringify({ http: { prot: 1 }, bogus: true }));
    const problems = problemsOf(() => loadConfig({ file: f }));
    expect(problems).toContainEqual(expect.stringContaining(`'http.prot': unknown key (from ${f})`));
    expect(problems).toContainEqual(expect.stringContaining(`'bogus': unknown key (from ${f})`));
  });

  it('rejects unknown LOOKOUT_* variables by name', () => {
    const problems = problemsOf(() => loadConfig({ env: { LOOKOUT_HTTP_PROT: '1', PATH: '/bin' } }));
    expect(problems[0]).toMatch(/^LOOKOUT_HTTP_PROT: unknown environment variable/);
  });

  it('names key and source of a bad value', () => {
    const problems = problemsOf(() => loadConfig({ env: { LOOKOUT_MQTT_PORT: '70000' } }));
    expect(problems[0]).toMatch(/^'mqtt\.port': .*65535.* \(from LOOKOUT_MQTT_PORT\)$/);
    const p2 = problemsOf(() => loadConfig({ env: { LOOKOUT_HTTP_PORT: 'eighty' } }));
    expect(p2[0]).toMatch(/^'http\.port': .*number.* \(from LOOKOUT_HTTP_PORT\)$/);
    const p3 = problemsOf(() => loadConfig({ flags: { 'log.level': 'loud' } }));
    expect(p3[0]).toMatch(/^'log\.level': .*\(from flag for log\.level\)$/);
  });

  it('requires both TLS cert and key or neither', () => {
    const problems = problemsOf(() => loadConfig({ flags: { 'mqtt.tls.cert': '/x.pem' } }));
    expect(problems[0]).toMatch(/'mqtt\.tls': set both `cert` and `key`/);
  });

  it('reports unreadable and malformed files with their own codes', () => {
    expect(() => loadConfig({ file: '/nonexistent/lookout.json' })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_FILE_UNREADABLE' }),
    );
    const f = file('bad.json', '{ "http": ');
    expect(() => loadConfig({ file: f })).toThrowError(
      expect.objectContaining({ code: 'CONFIG_FILE_SYNTAX' }),
    );
    const arr = file('arr.json', '[1]');
    expect(() => loadConfig({ file: arr })).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.mqtt.authBackoff)).toBe(true);
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow();
  });

  it('maps every key to a LOOKOUT_ variable that round-trips', () => {
    for (const key of configKeys()) {
      expect(key.env).toMatch(/^LOOKOUT_[A-Z0-9_]+$/);
      expect(key.description.length).toBeGreaterThan(0);
    }
    const config = loadConfig({
      env: { LOOKOUT_MQTT_AUTH_BACKOFF_MAX_DELAY_MS: '1234', LOOKOUT_LOG_FORMAT: 'json' },
    });
    expect(config.mqtt.authBackoff.maxDelayMs).toBe(1234);
    expect(config.log.format).toBe('json');
  });
});
