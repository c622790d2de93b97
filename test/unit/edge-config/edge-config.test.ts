import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/index.js';
import {
  loadEdgeConfig,
  publicBrokerUrls,
  publicTurnUrls,
  renderEdgeConfig,
} from '../../../edge-config/index.js';
import { tempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const input = {
  deviceId: 'cam1',
  name: 'Porch',
  secret: 'lkd_secret',
  mqttUrl: 'mqtt://cams.example.com:1883',
  wsUrl: 'ws://cams.example.com:8080/mqtt',
  topicPrefix: 'lookout',
};

function write(value: unknown): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  const file = path.join(tmp.dir, 'edge.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('edge config', () => {
  it('renders the required fields and loads back unchanged', () => {
    const edge = renderEdgeConfig(input);
    expect(edge).toMatchObject({
      version: 1,
      deviceId: 'cam1',
      mqtt: {
        url: 'mqtt://cams.example.com:1883',
        username: 'cam1',
        password: 'lkd_secret',
        clientId: 'cam1',
        topicPrefix: 'lookout',
      },
      stream: { video: { codec: 'h264' } },
    });
    expect(loadEdgeConfig(write(edge))).toEqual(edge);
  });

  it("carries a cluster's other brokers (mqtt.fallbackUrls) only when there are some, and validates them", () => {
    expect(renderEdgeConfig(input).mqtt.fallbackUrls).toBeUndefined();
    expect(renderEdgeConfig({ ...input, fallbackUrls: [] }).mqtt.fallbackUrls).toBeUndefined();
    const fallbackUrls = ['mqtt://node-b.example.com:1883', 'mqtts://node-c.example.com:8883'];
    const edge = renderEdgeConfig({ ...input, fallbackUrls });
    expect(edge.mqtt.fallbackUrls).toEqual(fallbackUrls);
    expect(loadEdgeConfig(write(edge))).toEqual(edge);
    expect(() => renderEdgeConfig({ ...input, fallbackUrls: ['http://node-b:1883'] })).toThrow();
    expect(() =>
      renderEdgeConfig({ ...input, fallbackUrls: Array.from({ length: 9 }, (_, i) => `mqtt://n${i}:1883`) }),
    ).toThrow();
  });

  it('names every bad key when loading', () => {
    const edge = renderEdgeConfig(input) as unknown as { mqtt: Record<string, unknown> } & Record<
      string,
      unknown
    >;
    const broken = { ...edge, extra: 1, mqtt: { ...edge.mqtt, url: 'http://nope', password: undefined } };
    try {
      loadEdgeConfig(write(broken));
      throw new Error('should have thrown');
    } catch (err) {
      const problems = (err as { details: { problems: string[] } }).details.problems;
      expect((err as { code: string }).code).toBe('EDGE_CONFIG_INVALID');
      expect(problems.join('\n')).toMatch(/'mqtt\.url'/);
      expect(problems.join('\n')).toMatch(/'mqtt\.password'/);
      expect(problems.join('\n')).toMatch(/unknown keys extra/);
    }
    expect(() => loadEdgeConfig(write('{oops'))).toThrowError(
      expect.objectContaining({ code: 'EDGE_CONFIG_INVALID' }),
    );
    expect(() => loadEdgeConfig('/no/such/file.json')).toThrowError(
      expect.objectContaining({ code: 'EDGE_CONFIG_UNREADABLE' }),
    );
  });

  it('takes an optional ice.forceRelay within version 1 and rejects unknown ice keys', () => {
    const edge = renderEdgeConfig(input);
    expect(edge.ice).toBeUndefined();
    expect(loadEdgeConfig(write({ ...edge, ice: { forceRelay: true } })).ice).toEqual({ forceRelay: true });
    expect(loadEdgeConfig(write({ ...edge, ice: {} })).ice).toEqual({});
    expect(() => loadEdgeConfig(write({ ...edge, ice: { forceRelay: 'yes' } }))).toThrowError(
      /'ice\.forceRelay'/,
    );
    expect(() => loadEdgeConfig(write({ ...edge, ice: { turnUrls: [] } }))).toThrowError(
      /unknown keys turnUrls/,
    );
  });

  it('writes the configured public URLs, not localhost', () => {
    const config = loadConfig({
      flags: {
        'mqtt.publicUrl': 'mqtts://cams.example.com:8883',
        'mqtt.publicWsUrl': 'wss://cams.example.com/mqtt',
      },
    });
    expect(publicBrokerUrls(config.mqtt, config.http)).toEqual({
      url: 'mqtts://cams.example.com:8883',
      wsUrl: 'wss://cams.example.com/mqtt',
      guessed: false,
    });
  });

  it('derives wsUrl from the host of mqtt.publicUrl on the HTTP port, like the TURN URLs (issue 9, item 17)', () => {
    const config = loadConfig({
      flags: { 'mqtt.publicUrl': 'mqtts://cams.example.com:8883', 'http.port': 8443 },
    });
    const urls = publicBrokerUrls(config.mqtt, config.http);
    // Without http.tls the HTTP listener has no TLS of its own: plain ws, whatever the MQTT scheme.
    expect(urls.wsUrl).toBe('ws://cams.example.com:8443/mqtt');
    expect(publicTurnUrls(config.turn, config.mqtt)[0]).toBe('turn:cams.example.com:3478?transport=udp');
    // An IPv6 public host keeps exactly one pair of brackets; a bound http.host does not win over it.
    const v6 = loadConfig({
      flags: { 'mqtt.publicUrl': 'mqtt://[2001:db8::7]:1883', 'http.host': '10.1.2.3' },
    });
    expect(publicBrokerUrls(v6.mqtt, v6.http).wsUrl).toBe('ws://[2001:db8::7]:8080/mqtt');
    // The edge config a camera gets carries it.
    const edge = renderEdgeConfig({ ...input, wsUrl: urls.wsUrl });
    expect(edge.mqtt.wsUrl).toBe('ws://cams.example.com:8443/mqtt');
    // With TLS of its own (http.tls, D31): wss.
    const secure = loadConfig({
      flags: {
        'mqtt.publicUrl': 'mqtts://cams.example.com:8883',
        'http.port': 8443,
        'http.tls.cert': '/etc/cert.pem',
        'http.tls.key': '/etc/key.pem',
      },
    });
    expect(publicBrokerUrls(secure.mqtt, secure.http).wsUrl).toBe('wss://cams.example.com:8443/mqtt');
  });

  it('guesses a LAN address when bound to all interfaces, and uses a bound host as is', () => {
    const config = loadConfig();
    const guessed = publicBrokerUrls(config.mqtt, config.http);
    expect(guessed.guessed).toBe(true);
    expect(guessed.url).toMatch(/^mqtt:\/\/[^/]+:1883$/);
    expect(guessed.url).not.toContain('0.0.0.0');
    const bound = loadConfig({ flags: { 'mqtt.host': '10.1.2.3', 'http.host': '::1' } });
    expect(publicBrokerUrls(bound.mqtt, bound.http)).toMatchObject({
      url: 'mqtt://10.1.2.3:1883',
      wsUrl: 'ws://[::1]:8080/mqtt',
    });
  });
});
