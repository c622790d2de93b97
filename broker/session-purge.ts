import type { Readable } from 'node:stream';
import type { Logger } from '../core/log.js';
import type { SessionStore } from './session-store.js';
import { deviceTopics } from './topics.js';

/** What the purge uses of aedes' persistence (aedes-persistence 11, promise style). */
interface PurgeablePersistence {
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
  createRetainedStream(pattern: string): Readable;
  storeRetained(packet: {
    cmd: 'publish';
    topic: string;
    payload: Buffer;
    qos: 0;
    retain: true;
  }): Promise<void>;
}

/**
 * Removes what the broker keeps for a device whose credentials are gone for good (revoked,
 * deleted): its persistent session (stored subscriptions, queued and in-flight messages,
 * will) and the retained messages in its subtree. Devices cannot retain (their retain flag
 * is cleared), so those are services' messages about the device, and, for a deleted device,
 * its status.
 */
export class SessionPurge {
  constructor(
    private readonly aedes: { id: string },
    private readonly sessions: SessionStore,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  purge(deviceId: string, options: { keepStatus: boolean }): void {
    const persistence = (this.aedes as unknown as { persistence: PurgeablePersistence }).persistence;
    this.sessions.forget(deviceId);
    const { root, status } = deviceTopics(this.prefix, deviceId);
    const topics: string[] = [];
    const failed = (err: unknown) =>
      this.log.warn({ err, device: deviceId }, 'could not remove the session of a revoked device');
    Promise.all([
      persistence.cleanSubscriptions({ id: deviceId }),
      persistence.delWill({ id: deviceId, brokerId: this.aedes.id }),
    ]).catch(failed);
    const retained = persistence.createRetainedStream(`${root}/#`);
    retained.on('data', (packet: { topic: string }) => {
      if (!options.keepStatus || packet.topic !== status) topics.push(packet.topic);
    });
    retained.once('error', failed);
    retained.once('end', () => {
      // MQTT 3.1.1 §3.3.1.3: a retained message with an empty payload removes the retained one.
      const removals = topics.map((topic) =>
        persistence.storeRetained({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true }),
      );
      Promise.all(removals).then(
        () =>
          this.log.info(
            { device: deviceId, retained: topics.length },
            'removed the session and retained messages of a revoked or deleted device',
          ),
        failed,
      );
    });
  }
}
