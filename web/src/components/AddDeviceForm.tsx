import { useState } from 'preact/hooks';
import type { IssuedDeviceDocument } from '../../../http-contract/index.js';
import { addDevice, type RecordMode } from '../device-admin.js';

/** Registers a camera: id, name, recording mode. The edge config comes back once (onAdded). */
export function AddDeviceForm({ onAdded }: { onAdded(issued: IssuedDeviceDocument): void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError('');
    try {
      const issued = await addDevice({
        id: String(data.get('id') ?? '').trim(),
        name: String(data.get('name') ?? '').trim(),
        mode: String(data.get('mode')) as RecordMode,
      });
      form.reset();
      onAdded(issued);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form id="add-device" class="stack" onSubmit={(e) => void submit(e)}>
      <h3>Add a camera</h3>
      <label>
        Id <span class="muted">(a-z, 0-9 and -)</span>
        <input id="add-id" name="id" required maxLength={64} pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" />
      </label>
      <label>
        Name <span class="muted">(optional)</span>
        <input id="add-name" name="name" maxLength={200} />
      </label>
      <label>
        Recording
        <select id="add-mode" name="mode">
          <option value="off">off</option>
          <option value="continuous">continuous</option>
          <option value="on-demand">on-demand</option>
        </select>
      </label>
      <div class="toolbar">
        <button id="add-submit" type="submit" disabled={busy}>
          Add camera
        </button>
        <span id="add-error" class="error" role="alert">
          {error}
        </span>
      </div>
    </form>
  );
}
