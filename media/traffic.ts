/**
 * A media worker's byte totals since it started, for metrics. One object per engine, shared by
 * its streams and viewers (no module state: several engines in one process count apart).
 */
export interface MediaTraffic {
  /** RTP bytes (header and payload, before SRTP) received from cameras. */
  receivedBytes: number;
  /** SRTP bytes written to viewers, retransmissions included. */
  sentBytes: number;
}

export function newMediaTraffic(): MediaTraffic {
  return { receivedBytes: 0, sentBytes: 0 };
}
