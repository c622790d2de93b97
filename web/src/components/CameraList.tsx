import type { DeviceDocument } from '../../../http-contract/index.js';
import { mayUse } from '../api.js';
import type { RecordingActivity } from '../server-events.js';
import { activity, devices, listStatus, presence, recordingsOf, watch } from '../state.js';

/** The recording column: the mode, and what the recorder does now. */
export function recordingLabel(mode: string, active: boolean, live: RecordingActivity | undefined): string {
  if (mode === 'off') return 'off';
  if (!live) return `${mode} · ${active ? 'recording' : 'idle'}`;
  const state = live.state === 'off' ? 'idle' : live.state;
  return `${mode} · ${state}${live.reason ? ` (${live.reason})` : ''}`;
}

function CameraRow({ device }: { device: DeviceDocument }) {
  const shown = presence.value.get(device.id);
  const state = shown?.state ?? (device.revoked ? 'revoked' : device.online ? 'online' : 'offline');
  const rec = device.recording ?? { mode: 'off', active: false };
  const live = activity.value.get(device.id);
  const recording = live ? live.state === 'recording' : rec.active;
  const canWatch = mayUse(device.id, 'live');
  const canReplay = mayUse(device.id, 'recordings');
  return (
    <tr data-device={device.id}>
      <td data-label="Camera">{device.name}</td>
      <td data-label="Id">{device.id}</td>
      <td data-label="State" class={state} data-presence={state}>
        {state}
      </td>
      <td data-label="Last seen" data-seen="">
        {shown?.seen ?? 'never'}
      </td>
      <td data-label="Recording" class={recording ? 'recording' : undefined} data-recording-mode={rec.mode}>
        {recordingLabel(rec.mode, rec.active, live)}
      </td>
      <td class="actions">
        <button
          type="button"
          data-device={device.id}
          disabled={device.revoked || !canWatch}
          title={canWatch ? undefined : 'no right to view this camera live'}
          aria-label={`Watch ${device.name}`}
          onClick={() => watch(device.id, device.name)}
        >
          Watch
        </button>
        <button
          type="button"
          data-recordings={device.id}
          disabled={!canReplay}
          title={canReplay ? undefined : 'no right to view the recordings of this camera'}
          aria-label={`Recordings of ${device.name}`}
          onClick={() => {
            recordingsOf.value = { device, opened: Date.now() };
          }}
        >
          Recordings
        </button>
      </td>
    </tr>
  );
}

/** The cameras the signed-in user (or token) may see: presence, last seen, recording, and Watch / Recordings. */
export function CameraList() {
  const list = devices.value;
  return (
    <section aria-labelledby="cameras-title">
      <h2 id="cameras-title">Cameras</h2>
      <p id="status" class="muted">
        {listStatus.value}
      </p>
      <table id="devices" hidden={!list || list.length === 0}>
        <thead>
          <tr>
            <th>Camera</th>
            <th>Id</th>
            <th>State</th>
            <th>Last seen</th>
            <th>Recording</th>
            <th>
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list ?? []).map((d) => (
            <CameraRow key={d.id} device={d} />
          ))}
        </tbody>
      </table>
    </section>
  );
}
