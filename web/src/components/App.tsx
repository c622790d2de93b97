import { useEffect, useRef } from 'preact/hooks';
import { loadSession, signedIn, token } from '../api.js';
import { restoreGrid, syncGrid } from '../grid-store.js';
import { watchServer } from '../server-events.js';
import { devices, listStatus, loadDevices, setActivity, setHealth, setPresence } from '../state.js';
import { refreshStills } from '../still-refresh.js';
import { isAdmin } from '../user-admin.js';
import { CameraList } from './CameraList.js';
import { DeviceManager } from './DeviceManager.js';
import { LiveGrid } from './LiveGrid.js';
import { Recordings } from './RecordingsPanel.js';
import { ServerStatus } from './ServerStatus.js';
import { SignIn } from './SignIn.js';
import { UserManager } from './UserManager.js';

/**
 * The page. Presence, recording activity and server health come pushed (server-events.ts); the
 * camera list is fetched again on every snapshot (first connection, reconnection, a camera added
 * or removed).
 */
export function App() {
  const live = useRef<{ restart(): void }>(undefined);
  useEffect(() => {
    let stopSync: (() => void) | undefined;
    const stopStills = refreshStills();
    void loadSession().then(() => {
      // The grid as the link or the last visit left it, then kept in step with the URL.
      if (signedIn()) restoreGrid();
      stopSync = syncGrid();
      void loadDevices();
      live.current?.restart();
    });
    live.current = watchServer(signedIn, token, {
      health: setHealth,
      async snapshot(s) {
        for (const d of s.devices) setActivity(d.id, d.recording);
        // A snapshot also comes when this principal's rights changed: ask what they are now.
        await loadSession();
        await loadDevices();
        for (const d of s.devices) setPresence(d.id, d.online, d.lastSeenAt);
      },
      presence: (e) => setPresence(e.id, e.online, e.at),
      recording: (e) => setActivity(e.id, { state: e.state, reason: e.reason }),
      revoked() {
        // The token was revoked, the user removed or signed out: ask who we are now.
        void loadSession().then(() => {
          void loadDevices();
          listStatus.value = 'Your session ended (signed out, or access revoked): sign in again.';
        });
        devices.value = undefined;
      },
    });
    return () => {
      stopSync?.();
      stopStills();
    };
  }, []);
  return (
    <>
      <header>
        <h1>Lookout</h1>
        <ServerStatus />
      </header>
      <main>
        <SignIn
          onChange={() => {
            if (signedIn()) restoreGrid();
            void loadDevices();
            live.current?.restart();
          }}
        />
        <CameraList />
        <Recordings />
        <LiveGrid />
        {isAdmin() && (
          <>
            <DeviceManager />
            <UserManager />
          </>
        )}
      </main>
    </>
  );
}
