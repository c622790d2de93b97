import { useState } from 'preact/hooks';
import type { IssuedDeviceDocument } from '../../../http-contract/index.js';
import { devices, loadDevices } from '../state.js';
import { AddDeviceForm } from './AddDeviceForm.js';
import { IssuedConfig } from './IssuedConfig.js';
import { ManageDevice } from './ManageDevice.js';

/** Device management: add a camera (its edge config shown once), and change or delete one. */
export function DeviceManager() {
  const [issued, setIssued] = useState<IssuedDeviceDocument | undefined>(undefined);
  const [selected, setSelected] = useState('');
  const [status, setStatus] = useState('');
  const list = devices.value ?? [];
  const device = list.find((d) => d.id === selected);
  const changed = () => void loadDevices();
  return (
    <section aria-labelledby="manage-title" class="manage">
      <h2 id="manage-title">Manage cameras</h2>
      {issued ? (
        <IssuedConfig issued={issued} onDone={() => setIssued(undefined)} />
      ) : (
        <AddDeviceForm
          onAdded={(i) => {
            setIssued(i);
            setStatus('');
            changed();
          }}
        />
      )}
      <h3>Change a camera</h3>
      <label>
        Camera{' '}
        <select
          id="manage-select"
          value={device ? selected : ''}
          onChange={(e) => {
            setSelected(e.currentTarget.value);
            setStatus('');
          }}
        >
          <option value="">choose…</option>
          {list.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name === d.id ? d.id : `${d.name} (${d.id})`}
            </option>
          ))}
        </select>
      </label>
      <p id="manage-deleted" role="status" class="muted">
        {status}
      </p>
      {device && (
        <ManageDevice
          key={device.id}
          device={device}
          onChanged={changed}
          onIssued={setIssued}
          onDeleted={(message) => {
            setSelected('');
            setStatus(message);
            changed();
          }}
        />
      )}
    </section>
  );
}
