import { useEffect, useRef } from 'preact/hooks';
import { token } from '../api.js';
import { watchServer } from '../server-events.js';
import { devices, listStatus, loadDevices, setActivity, setHealth, setPresence } from '../state.js';
import { CameraList } from './CameraList.js';
import { DeviceManager } from './DeviceManager.js';
import { LiveGrid } from './LiveGrid.js';
import { Recordings } from './RecordingsPanel.js';
import { ServerStatus } from './ServerStatus.js';
import { TokenBox } from './TokenBox.js';

/**
 * The page. Presence, recording activity and server health come pushed (server-events.ts); the
 * camera list is fetched again on every snapshot (first connection, reconnection, a camera added
 * or removed).
 */
export function App() {
  const live = useRef<{ restart(): void }>(undefined);
  useEffect(() => {
    void loadDevices();
    live.current = watchServer(token, {
      health: setHealth,
      async snapshot(s) {
        for (const d of s.devices) setActivity(d.id, d.recording);
        await loadDevices();
        for (const d of s.devices) setPresence(d.id, d.online, d.lastSeenAt);
      },
      presence: (e) => setPresence(e.id, e.online, e.at),
      recording: (e) => setActivity(e.id, { state: e.state, reason: e.reason }),
      revoked() {
        listStatus.value = 'This API token was revoked: enter another one.';
        devices.value = undefined;
      },
    });
  }, []);
  return (
    <>
      <header>
        <h1>Lookout</h1>
        <ServerStatus />
      </header>
      <main>
        <TokenBox
          onSaved={() => {
            void loadDevices();
            live.current?.restart();
          }}
        />
        <CameraList />
        <Recordings />
        <LiveGrid />
        <DeviceManager />
      </main>
    </>
  );
}
