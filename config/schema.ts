import { isIP } from 'node:net';
import { z } from 'zod';
import { clusterSchema } from './cluster-schema.js';

/** 0 asks the OS for a free port (handy for tests and for running several instances). */
const ip = z.string().refine((s) => isIP(s) !== 0, { message: 'expected an IPv4 or IPv6 address' });
const port = z.number().int().min(0).max(65535);
const millis = (min: number, max: number) => z.number().int().min(min).max(max);

const log = z
  .object({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Least severe level written.'),
    format: z
      .enum(['auto', 'json', 'pretty'])
      .default('auto')
      .describe('`json` lines, human `pretty` lines, or `auto`: pretty on a terminal, JSON otherwise.'),
  })
  .strict()
  .prefault({});

const http = z
  .object({
    host: z
      .string()
      .min(1)
      .default('0.0.0.0')
      .describe('Address the HTTP server (API, web app, WHEP, MQTT over WebSocket) binds.'),
    port: port.default(8080).describe('HTTP port.'),
    maxConnectionsPerAddress: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe(
        'Open TCP connections to the HTTP port from one address (browsers, WHEP players, MQTT over WebSocket); more are closed at once and logged.',
      ),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(8192)
      .describe('Open TCP connections to the HTTP port in all; more are closed at once and logged.'),
    tls: z
      .object({
        cert: z
          .string()
          .min(1)
          .optional()
          .describe(
            'PEM certificate chain file: with `key`, `port` serves HTTPS only (API, web app, WHEP, MQTT over `wss://`). Reloaded without a restart when the file changes.',
          ),
        key: z.string().min(1).optional().describe('PEM private key file of `cert` (unencrypted).'),
      })
      .strict()
      .prefault({})
      .refine((t) => (t.cert === undefined) === (t.key === undefined), {
        message: 'set both `cert` and `key` to enable HTTPS, or neither',
      }),
    events: z
      .object({
        heartbeatMs: millis(100, 60_000)
          .default(1000)
          .describe(
            'Interval of the `heartbeat` event on `/api/events`: a page that hears nothing for about 2.5 times this shows the server unreachable.',
          ),
        maxPerToken: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(16)
          .describe(
            '`/api/events` streams one API token may hold open (one per browser tab); more are refused (429).',
          ),
        maxStreams: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(512)
          .describe('`/api/events` streams open in all; more are refused (503).'),
        maxBufferedBytes: z
          .number()
          .int()
          .min(1024)
          .max(67_108_864)
          .default(262_144)
          .describe(
            'Bytes of events waiting to be sent to one stream (a client that does not read); past it the stream is closed, and the client reconnects to a fresh snapshot.',
          ),
      })
      .strict()
      .prefault({}),
    metricsAuth: z
      .enum(['token', 'none'])
      .default('token')
      .describe(
        '`/metrics` (Prometheus) needs an API token (`token`, sent as `Authorization: Bearer`, which Prometheus supports) or none (`none`: for a Prometheus on a trusted network; the series show device counts and traffic, no ids).',
      ),
  })
  .strict()
  .prefault({});

const tls = z
  .object({
    port: port
      .default(8883)
      .describe('Port of the MQTT-over-TLS listener (only opened when `cert` and `key` are set).'),
    cert: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PEM certificate chain file for the `mqtts` listener. Reloaded without a restart when the file changes.',
      ),
    key: z.string().min(1).optional().describe('PEM private key file for the `mqtts` listener.'),
  })
  .strict()
  .prefault({})
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'set both `cert` and `key` to enable TLS, or neither',
  });

const authBackoff = z
  .object({
    maxFailures: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe(
        'Failed logins allowed per (address, username) in `windowMs` before back-off starts; 0 disables back-off.',
      ),
    maxAddressFailures: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe(
        'Failed logins allowed per source address, whatever the username, before back-off starts; each username counts at most `maxFailures` of them, and a username that logged in from that address recently is not held back by it. 0 disables.',
      ),
    windowMs: millis(1000, 86_400_000).default(600_000).describe('How long a failure is remembered.'),
    baseDelayMs: millis(1, 3_600_000)
      .default(1000)
      .describe('First refusal period once back-off starts; doubles per further failure.'),
    maxDelayMs: millis(1, 86_400_000).default(300_000).describe('Longest refusal period.'),
  })
  .strict()
  .prefault({});

const connections = z
  .object({
    maxPendingPerAddress: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(64)
      .describe(
        'Connections from one source address that have not logged in yet (TCP, TLS and WebSocket together); a further one is closed at once. Logged-in sessions do not count.',
      ),
    maxPending: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(4096)
      .describe(
        "Connections not logged in yet, all addresses and transports together; a further one is closed at once. Keeps file descriptors for logged-in sessions and the HTTP API: keep it well below the process's descriptor limit (`ulimit -n`).",
      ),
  })
  .strict()
  .prefault({});

const session = z
  .object({
    maxSubscriptions: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(32)
      .describe('Subscriptions one device may hold; a further SUBSCRIBE is refused (SUBACK 0x80).'),
    maxInflightQos2: z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .default(32)
      .describe(
        'QoS 2 PUBLISHes from one client awaiting PUBREL, counted across reconnects of a persistent session; one more closes the connection.',
      ),
    maxQueuedMessages: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(256)
      .describe(
        'QoS 1/2 messages stored for one persistent session (Clean Session 0): unacknowledged, or queued while it is offline. Past it new messages are not stored for that client.',
      ),
    maxQueuedBytes: z
      .number()
      .int()
      .min(1024)
      .max(1_073_741_824)
      .default(1_048_576)
      .describe('Payload bytes stored for one persistent session; past it new messages are not stored.'),
    maxStoredBytes: z
      .number()
      .int()
      .min(1024)
      .max(17_179_869_184)
      .default(67_108_864)
      .describe('Payload bytes stored for all persistent sessions together.'),
  })
  .strict()
  .prefault({});

const mqtt = z
  .object({
    host: z.string().min(1).default('0.0.0.0').describe('Address the MQTT TCP listener binds.'),
    port: port.default(1883).describe('MQTT TCP port.'),
    publicUrl: z
      .string()
      .regex(/^mqtts?:\/\/[^/\s]+$/, 'must look like mqtt://host:port or mqtts://host:port')
      .optional()
      .describe(
        "Broker URL written into edge configs, as cameras reach it (for example `mqtt://cams.example.com:1883`). Unset: this machine's first non-loopback IPv4 address and `port`.",
      ),
    fallbackUrls: z
      .array(z.string().regex(/^mqtts?:\/\/[^/\s]+$/, 'must look like mqtt://host:port or mqtts://host:port'))
      .max(8)
      .default([])
      .describe(
        'Other brokers of the same cluster written into edge configs (`mqtt.fallbackUrls`): the camera tries them in turn after `publicUrl` when its connection fails or drops (docs/cluster.md). Empty on a single host.',
      ),
    publicWsUrl: z
      .string()
      .regex(/^wss?:\/\/\S+$/, 'must look like ws://host:port/mqtt or wss://host/mqtt')
      .optional()
      .describe(
        'MQTT-over-WebSocket URL written into edge configs. Unset: `ws://<host>:<http.port>/mqtt`, where `<host>` is the host of `publicUrl` when set (like the TURN URLs), else derived like `publicUrl`. `wss://` when `http.tls` is set, else `ws://`: set it behind a TLS proxy.',
      ),
    topicPrefix: z
      .string()
      .regex(/^[a-z0-9_-]{1,32}$/, 'must be 1-32 characters of a-z, 0-9, _ and -')
      .default('lookout')
      .describe('First level of every device topic (`<topicPrefix>/<deviceId>/...`).'),
    connectTimeoutMs: millis(500, 120_000)
      .default(10_000)
      .describe(
        'A connection that has not logged in by then (TLS handshake and CONNECT included, counted from the TCP accept or WebSocket upgrade) is closed.',
      ),
    maxConnectBytes: z
      .number()
      .int()
      .min(256)
      .max(1_048_576)
      .default(8192)
      .describe('Largest CONNECT packet, and the most bytes accepted before the login succeeds.'),
    maxPacketBytes: z
      .number()
      .int()
      .min(1024)
      .max(268_435_455)
      .default(262_144)
      .describe('Largest MQTT packet after login; a larger one closes the connection.'),
    tls,
    authBackoff,
    connections,
    session,
  })
  .strict()
  .prefault({});

const media = z
  .object({
    lingerMs: millis(0, 3_600_000)
      .default(30_000)
      .describe('How long a camera keeps streaming after its last viewer (or the recorder) stops.'),
    answerTimeoutMs: millis(1000, 120_000)
      .default(10_000)
      .describe('How long a camera has to answer an offer before the offer is retried.'),
    connectTimeoutMs: millis(1000, 120_000)
      .default(15_000)
      .describe('How long ICE and DTLS may take after the camera answers.'),
    viewerTimeoutMs: millis(2000, 600_000)
      .default(15_000)
      .describe(
        'A viewer whose browser has sent no RTCP for this long (tab closed without a WHEP DELETE) is dropped.',
      ),
    maxViewersPerToken: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe(
        'Most WHEP sessions one API token may have open (or being set up) at once; more get 429 WHEP_TOKEN_LIMIT.',
      ),
    maxViewers: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Most WHEP sessions open (or being set up) in all; more get 503 WHEP_CAPACITY.'),
    keyframeIntervalMs: millis(0, 10_000)
      .default(500)
      .describe('Least time between two keyframe requests (PLI) sent to a camera.'),
    helloGraceMs: millis(0, 60_000)
      .default(2000)
      .describe(
        'After a camera comes online, how long the media node waits for its `hello` before offering anyway (docs/signaling.md: a camera that says hello gets the offer on its hello).',
      ),
    deviceSignalRatePerSecond: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(20)
      .describe('Signaling messages per second one camera may send, sustained; more are dropped (logged).'),
    deviceSignalBurst: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(40)
      .describe(
        'Signaling messages one camera may send in a burst before `deviceSignalRatePerSecond` applies.',
      ),
    iceHostAddresses: z
      .array(z.string().min(1).max(64))
      .max(8)
      .default([])
      .describe(
        'Extra host addresses the media node advertises in ICE (a public IP behind 1:1 NAT; 127.0.0.1 for loopback-only setups). Comma-separated in the environment.',
      ),
    workers: z
      .number()
      .int()
      .min(0)
      .max(64)
      .optional()
      .describe(
        'Media worker processes (cameras are spread over them; one that dies is replaced). Unset: one per CPU core. `1`: one worker process. `0`: no worker process, media runs inside the server process (for debugging with one inspector).',
      ),
    nativeSrtp: z
      .boolean()
      .default(true)
      .describe(
        "Protect and send viewers' SRTP, and decrypt cameras' AES-GCM SRTP, with Lookout's native addon (built at install; about half the CPU per viewer). `false`, or an addon that did not build: JavaScript (logged at start).",
      ),
    icePortMin: port
      .optional()
      .describe('Lowest UDP port for media (set with `icePortMax` to open a firewall range).'),
    icePortMax: port.optional().describe('Highest UDP port for media.'),
  })
  .strict()
  .prefault({})
  .refine(
    (m) =>
      (m.icePortMin === undefined) === (m.icePortMax === undefined) &&
      (m.icePortMin ?? 0) <= (m.icePortMax ?? 0),
    {
      message: 'set both `icePortMin` and `icePortMax` (min <= max), or neither',
    },
  );

const cidrList = (what: string) =>
  z
    .array(z.string().min(1).max(64))
    .max(64)
    .default([])
    .describe(`${what} Comma-separated in the environment.`);

const turn = z
  .object({
    mode: z
      .enum(['embedded', 'external', 'off'])
      .default('embedded')
      .describe(
        '`embedded`: `lookout serve` runs its own TURN/STUN server; `external`: use an existing TURN deployment (coturn) named by `urls`, sharing `secret`; `off`: no relay (cameras behind carrier-grade NAT cannot stream).',
      ),
    host: z
      .string()
      .min(1)
      .default('0.0.0.0')
      .describe('Address the embedded TURN server listens on (UDP and TCP).'),
    port: port.default(3478).describe('Port of the embedded TURN server (UDP and TCP).'),
    secret: z
      .string()
      .min(16)
      .max(256)
      .optional()
      .describe(
        'Shared secret of the TURN REST API credentials (coturn `static-auth-secret`). Required for `external`; for `embedded` it is generated once into `<dataDir>/turn.secret` when unset.',
      ),
    realm: z.string().min(1).max(128).default('lookout').describe('TURN realm (coturn `realm`).'),
    urls: z
      .array(z.string().regex(/^turns?:[^\s]+$/))
      .max(8)
      .default([])
      .describe(
        'TURN URLs handed to cameras and the media node, e.g. `turn:turn.example.com:3478?transport=udp`. Required for `external`; for `embedded` they are derived (UDP then TCP on `port`) from `externalAddress`, else the host of `mqtt.publicUrl`, else `host` when not a wildcard, else a LAN address. Comma-separated in the environment.',
      ),
    credentialTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(86_400)
      .describe(
        'Lifetime of the TURN credentials issued with each session. A relayed session cannot refresh its allocation after they expire, so keep it longer than a viewing session.',
      ),
    externalAddress: ip
      .optional()
      .describe(
        'Public IP the embedded server advertises as its relay address, for hosts behind 1:1 NAT (cloud VMs).',
      ),
    relayAddress: ip
      .optional()
      .describe(
        'Local IP relay sockets bind to (default: `host` when it is not a wildcard, else all addresses).',
      ),
    relayPortMin: port.optional().describe('Lowest UDP port for relay sockets (set with `relayPortMax`).'),
    relayPortMax: port.optional().describe('Highest UDP port for relay sockets.'),
    allowedPeerIps: cidrList(
      'CIDR ranges the embedded server relays to even though they are denied by default (loopback, private, link-local...); allow wins over deny.',
    ),
    deniedPeerIps: cidrList('Extra CIDR ranges the embedded server never relays to.'),
    maxAllocationLifetimeSeconds: z
      .number()
      .int()
      .min(5)
      .max(3600)
      .default(3600)
      .describe(
        'Longest allocation lifetime the embedded server grants (coturn `max-allocate-lifetime`); clients refresh before it ends. Default requests get 600 s, or this when shorter.',
      ),
    maxAllocationsPerDevice: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe('Most simultaneous relay allocations one device (one TURN username) may hold.'),
    maxAllocations: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Most simultaneous relay allocations the embedded server holds in total.'),
  })
  .strict()
  .prefault({})
  .refine(
    (t) =>
      (t.relayPortMin === undefined) === (t.relayPortMax === undefined) &&
      (t.relayPortMin ?? 0) <= (t.relayPortMax ?? 0),
    { message: 'set both `relayPortMin` and `relayPortMax` (min <= max), or neither' },
  )
  .refine((t) => t.mode !== 'external' || (t.secret !== undefined && t.urls.length > 0), {
    message: '`turn.mode: external` needs `turn.urls` and `turn.secret`',
  });

const recording = z
  .object({
    dir: z
      .string()
      .min(1)
      .optional()
      .describe('Directory for recorded segments (default `<dataDir>/recordings`).'),
    segmentSeconds: z
      .number()
      .int()
      .min(5)
      .max(3600)
      .default(60)
      .describe('Length of one recorded file; files are cut on the first keyframe after it.'),
    fragmentMs: millis(200, 10_000)
      .default(1000)
      .describe(
        'Fragment length inside a file: a crash or power cut loses at most about this much of the file being written.',
      ),
    maxAgeHours: z
      .number()
      .int()
      .min(1)
      .max(87_600)
      .default(720)
      .describe(
        'Recordings older than this are deleted (per camera override: `lookout device update <id> --retention <hours>`).',
      ),
    maxDiskMb: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .default(20_480)
      .describe('Disk quota for all recordings together; the oldest segments are deleted first.'),
    retentionIntervalMs: millis(1000, 3_600_000)
      .default(60_000)
      .describe('How often retention runs (it also runs after every finished segment).'),
    minFreeMb: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(256)
      .describe(
        'Recording pauses (a `disk-full` gap) when the recordings disk has less free space than this, and resumes by itself once twice this is free.',
      ),
  })
  .strict()
  .prefault({});

/** For the CLI's remote commands (`lookout recordings ...`); `lookout serve` ignores them. */
const client = z
  .object({
    server: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'must look like http://host:port or https://host')
      .optional()
      .meta({ env: 'LOOKOUT_SERVER' })
      .describe(
        'A running Lookout server the `recordings` commands work against over HTTP (`--server`), e.g. `http://nvr:8080`. Unset: they work on the local data directory.',
      ),
    token: z
      .string()
      .min(1)
      .optional()
      .meta({ env: 'LOOKOUT_TOKEN' })
      .describe('API token for `client.server` (`--token`), from `lookout token create`.'),
  })
  .strict()
  .prefault({});

/** The registry in PostgreSQL, shared by the nodes of a cluster (docs/registry.md). */

export const configSchema = z
  .object({
    dataDir: z
      .string()
      .min(1)
      .default('./data')
      .describe(
        "Directory for the SQLite registry, its key file and (by default) recordings; relative paths are relative to the working directory. Created owner-only (0700). One `lookout serve` at a time: a second one on the same directory exits with `DATA_DIR_LOCKED`, naming the first one's PID; CLI commands share it with a running server.",
      ),
    log,
    http,
    mqtt,
    media,
    recording,
    turn,
    client,
    cluster: clusterSchema,
  })
  .strict();

/** The validated, frozen configuration every component receives a slice of. */
export type Config = z.infer<typeof configSchema>;
export type HttpConfig = Config['http'];
export type MqttConfig = Config['mqtt'];
export type TurnConfig = Config['turn'];
export type MediaConfig = Config['media'];
export type RecordingConfig = Config['recording'];
export type ClientConfig = Config['client'];
export type ClusterConfig = Config['cluster'];
