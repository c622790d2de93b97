import { useState } from 'preact/hooks';
import type { DeviceDocument, IssuedDeviceDocument } from '../../../http-contract/index.js';
import {
  deleteDevice,
  type RecordMode,
  renameDevice,
  revokeDevice,
  rotateDevice,
  setRecording,
} from '../device-admin.js';
import { DeleteDialog } from './DeleteDialog.js';

interface Props {
  device: DeviceDocument;
  /** The device changed (or is gone): list again. */
  onChanged(): void;
  onIssued(issued: IssuedDeviceDocument): void;
  onDeleted(message: string): void;
}

/** One camera's settings: name, recording mode and retention; rotate, revoke, delete. */
export function ManageDevice({ device, onChanged, onIssued, onDeleted }: Props) {
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [confirming, setConfirming] = useState(false);
  const run = async (work: () => Promise<string>) => {
    setError('');
    setMessage('');
    try {
      setMessage(await work());
      onChanged();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const id = device.id;
  return (
    <div id="manage-device" data-manage={id} class="stack">
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const name = String(new FormData(e.currentTarget).get('name') ?? '');
          void run(async () => `Renamed to '${(await renameDevice(id, name)).name}'.`);
        }}
      >
        <label>
          Name
          <input
            id="manage-name"
            name="name"
            key={`${id}-${device.name}`}
            defaultValue={device.name}
            required
          />
        </label>
        <button id="manage-rename" type="submit">
          Rename
        </button>
      </form>
      <div class="toolbar">
        <label>
          Recording
          <select
            id="manage-mode"
            value={device.recording.mode}
            onChange={(e) => {
              const mode = e.currentTarget.value as RecordMode;
              void run(async () => `Recording ${(await setRecording(id, { mode })).recording.mode}.`);
            }}
          >
            <option value="off">off</option>
            <option value="continuous">continuous</option>
            <option value="on-demand">on-demand</option>
          </select>
        </label>
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            const text = String(new FormData(e.currentTarget).get('hours') ?? '').trim();
            const maxAgeHours = text === '' ? null : Number(text);
            void run(async () => {
              const d = await setRecording(id, { maxAgeHours });
              return d.recording.maxAgeHours === null
                ? 'Recordings kept as long as the server default.'
                : `Recordings kept ${d.recording.maxAgeHours} h.`;
            });
          }}
        >
          <label>
            Keep recordings (hours, empty: server default)
            <input
              id="manage-retention"
              name="hours"
              type="number"
              min={1}
              max={87600}
              step={1}
              key={`${id}-${device.recording.maxAgeHours}`}
              defaultValue={device.recording.maxAgeHours === null ? '' : String(device.recording.maxAgeHours)}
            />
          </label>
          <button id="manage-retention-save" type="submit">
            Save
          </button>
        </form>
      </div>
      <div class="toolbar">
        <button
          id="manage-rotate"
          type="button"
          onClick={() =>
            void run(async () => {
              onIssued(await rotateDevice(id));
              return 'New secret issued: the old edge config no longer works.';
            })
          }
        >
          {device.revoked ? 'Reinstate with a new secret' : 'Rotate secret'}
        </button>
        <button
          id="manage-revoke"
          type="button"
          disabled={device.revoked}
          onClick={() =>
            void run(async () => {
              await revokeDevice(id);
              return 'Revoked: it can no longer connect.';
            })
          }
        >
          Revoke
        </button>
        <button id="manage-delete" type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete…
        </button>
      </div>
      <p id="manage-status" role="status" class="muted">
        {message}
      </p>
      <p id="manage-error" role="alert" class="error">
        {error}
      </p>
      {confirming && (
        <DeleteDialog
          name={device.name}
          onCancel={() => setConfirming(false)}
          onConfirm={(recordings) => {
            setConfirming(false);
            deleteDevice(id, recordings).then(
              (r) =>
                onDeleted(
                  recordings === 'keep'
                    ? `Deleted ${id}; its recordings are kept.`
                    : `Deleted ${id} and ${r.deletedSegments} recordings.`,
                ),
              (err: Error) => setError(err.message),
            );
          }}
        />
      )}
    </div>
  );
}
