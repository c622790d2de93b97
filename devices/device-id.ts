import { LookoutError } from '../core/errors.js';

/**
 * A device id is a slug: 1-64 characters of a-z, 0-9 and '-', starting and ending
 * with a letter or digit. It is the MQTT username, the MQTT client id and a topic
 * level, so it must never contain '/', '+', '#' or '$'.
 */
export const DEVICE_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID_PATTERN.test(value);
}

/** Throws `DEVICE_ID_INVALID` with a message a person can act on. */
export function assertDeviceId(value: string): void {
  if (!isDeviceId(value)) {
    throw new LookoutError(
      'DEVICE_ID_INVALID',
      `invalid device id '${value}': use 1-64 characters of a-z, 0-9 and '-', starting and ending with a letter or digit (e.g. front-door)`,
      { id: value },
    );
  }
}
