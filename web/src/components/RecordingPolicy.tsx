import type { DeviceDocument } from '../../../http-contract/index.js';
import { api } from '../api.js';

type Policy = DeviceDocument['recording'];

interface Props {
  deviceUrl: string;
  policy: Policy;
  onChange(policy: Policy): void;
  onError(message: string): void;
}

/** A camera's recording mode, and Start / Stop for on-demand recording. */
export function RecordingPolicy({ deviceUrl, policy, onChange, onError }: Props) {
  const send = async (path: string, init: { method: string; body?: string }) => {
    try {
      onChange((await api<DeviceDocument>(`${deviceUrl}/${path}`, init)).recording);
    } catch (err) {
      onError((err as Error).message);
    }
  };
  const onDemand = policy.mode === 'on-demand';
  return (
    <>
      <label>
        Record{' '}
        <select
          id="rec-mode"
          value={policy.mode}
          onChange={(e) =>
            void send('recording', { method: 'PATCH', body: JSON.stringify({ mode: e.currentTarget.value }) })
          }
        >
          <option value="off">off</option>
          <option value="continuous">continuous</option>
          <option value="on-demand">on-demand</option>
        </select>
      </label>
      <button
        id="rec-start"
        type="button"
        disabled={!onDemand || policy.active}
        onClick={() => void send('recording/start', { method: 'POST' })}
      >
        Start
      </button>
      <button
        id="rec-stop"
        type="button"
        disabled={!onDemand || !policy.active}
        onClick={() => void send('recording/stop', { method: 'POST' })}
      >
        Stop
      </button>
      <span id="rec-active" class="muted">
        {policy.active ? 'recording now' : 'not recording'}
      </span>
    </>
  );
}
