// Device management through the public HTTP API (no DOM): add, rename, rotate, revoke, delete,
// recording policy. Add and rotate answer the edge config, with the device secret, this once.
import type { DeviceDocument, IssuedDeviceDocument } from '../../http-contract/index.js';
import { api, deviceUrl } from './api.js';

export type RecordMode = DeviceDocument['recording']['mode'];

export function addDevice(input: {
  id: string;
  name?: string;
  mode: RecordMode;
}): Promise<IssuedDeviceDocument> {
  return api<IssuedDeviceDocument>('/api/devices', {
    method: 'POST',
    body: JSON.stringify({
      id: input.id,
      ...(input.name ? { name: input.name } : {}),
      recording: { mode: input.mode },
    }),
  });
}

export const renameDevice = (id: string, name: string) =>
  api<DeviceDocument>(deviceUrl(id), { method: 'PATCH', body: JSON.stringify({ name }) });

export const rotateDevice = (id: string) =>
  api<IssuedDeviceDocument>(`${deviceUrl(id)}/rotate`, { method: 'POST' });

export const revokeDevice = (id: string) =>
  api<DeviceDocument>(`${deviceUrl(id)}/revoke`, { method: 'POST' });

export const deleteDevice = (id: string, recordings: 'delete' | 'keep') =>
  api<{ deletedSegments: number }>(`${deviceUrl(id)}?recordings=${recordings}`, { method: 'DELETE' });

/** `maxAgeHours` null: the server's default retention. */
export const setRecording = (id: string, change: { mode?: RecordMode; maxAgeHours?: number | null }) =>
  api<DeviceDocument>(`${deviceUrl(id)}/recording`, { method: 'PATCH', body: JSON.stringify(change) });

/** The edge config as the file a camera loads (`lookout agent --config <id>.json`). */
export function edgeConfigText(issued: IssuedDeviceDocument): string {
  return `${JSON.stringify(issued.edgeConfig, null, 2)}\n`;
}
