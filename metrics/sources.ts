/**
 * What the metrics read, as narrow structural interfaces: metrics/ imports no component (the
 * server's wiring, cli/server.ts, hands the real ones in).
 */

export interface BrokerSource {
  stats(): {
    clients: number;
    pendingConnections: number;
    devicesOnline: number;
    messagesReceived: number;
  };
}

export interface MediaWorkerStats {
  workerId: number;
  cameras: ReadonlyArray<{ viewers: number; live: boolean }>;
  rssBytes: number;
  cpuMs: number;
  receivedBytes: number;
  sentBytes: number;
}

export interface MediaSource {
  /** Every ready worker's stats (one request to each). */
  stats(): Promise<MediaWorkerStats[]>;
  /** WHEP sessions open now. */
  readonly sessionCount: number;
  /** Each viewer's time to first frame, in seconds; returns the unsubscribe. */
  onTimeToFirstFrame(listener: (seconds: number) => void): () => void;
}

export interface RecordingSource {
  stats(): { recorders: Record<string, number>; faults: Record<string, number> };
}

export interface TurnSource {
  stats(): {
    allocations: number;
    permissions: number;
    channels: number;
    bytesToPeers: number;
    bytesFromPeers: number;
  };
}

export interface MetricsSources {
  broker: BrokerSource;
  media: MediaSource;
  recordings: RecordingSource;
  /** The embedded TURN server, when `turn.mode` is `embedded` (else no TURN series). */
  turn?: TurnSource;
}
