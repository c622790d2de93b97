// Lookout web app: uses only the public HTTP API and WHEP.
import { watchServer } from './live.js';
import { recordingsPanel } from './recordings.js';
import { framesDecoded, playWhep, WhepError } from './whep.js';

const TOKEN_KEY = 'lookout.token';
const $ = (id) => document.getElementById(id);
/** Open players by camera id; exposed as window.lookout for diagnostics and tests. */
const players = new Map();
window.lookout = { players };

function token() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

/** Recording activity by camera id, as the event stream last said (`{state, reason}`). */
const activity = new Map();

function showHealth(up, server) {
  const health = $('health');
  if (health.dataset.state !== (up ? 'up' : 'down')) window.lookout.healthChangedAt = Date.now();
  health.dataset.state = up ? 'up' : 'down';
  health.textContent = up ? `server ok, version ${server?.version ?? '?'}` : 'server unreachable';
  // A server that is gone cannot vouch for any camera: no stale "online" over a frozen picture.
  if (!up) for (const td of document.querySelectorAll('td[data-presence]')) showPresence(td, 'unknown');
}

function showPresence(td, state) {
  td.textContent = state;
  td.className = state;
  td.dataset.presence = state;
}

function recordingLabel(mode, active, live) {
  if (mode === 'off') return 'off';
  if (!live) return `${mode} · ${active ? 'recording' : 'idle'}`;
  const state = live.state === 'off' ? 'idle' : live.state;
  return `${mode} · ${state}${live.reason ? ` (${live.reason})` : ''}`;
}

function applyPresence({ id, online, at }) {
  const row = document.querySelector(`tr[data-device="${CSS.escape(id)}"]`);
  if (!row) return;
  showPresence(row.querySelector('td[data-presence]'), online ? 'online' : 'offline');
  row.querySelector('td[data-seen]').textContent = online
    ? 'now'
    : at
      ? new Date(at).toLocaleString()
      : 'never';
}

function applyRecording({ id, state, reason }) {
  activity.set(id, { state, reason });
  const td = document.querySelector(`tr[data-device="${CSS.escape(id)}"] td[data-recording-mode]`);
  if (!td) return;
  td.textContent = recordingLabel(td.dataset.recordingMode, false, activity.get(id));
  td.className = state === 'recording' ? 'recording' : '';
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function loadDevices() {
  const status = $('status');
  if (!token()) {
    status.textContent = 'Enter an API token to see your cameras.';
    return;
  }
  const res = await fetch('/api/devices', { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) {
    const problem = await res.json().catch(() => ({}));
    status.textContent = `Cannot list cameras: ${problem.detail ?? res.statusText}`;
    $('devices').hidden = true;
    return;
  }
  const { devices } = await res.json();
  $('devices')
    .querySelector('tbody')
    .replaceChildren(
      ...devices.map((d) => {
        const tr = document.createElement('tr');
        tr.dataset.device = d.id;
        const state = d.revoked ? 'revoked' : d.online ? 'online' : 'offline';
        const seen = d.online ? 'now' : d.lastSeenAt ? new Date(d.lastSeenAt).toLocaleString() : 'never';
        const watch = document.createElement('button');
        watch.type = 'button';
        watch.textContent = 'Watch';
        watch.dataset.device = d.id;
        watch.disabled = d.revoked;
        watch.addEventListener('click', () => openPlayer(d.id, d.name));
        const recordings = document.createElement('button');
        recordings.type = 'button';
        recordings.textContent = 'Recordings';
        recordings.dataset.recordings = d.id;
        recordings.addEventListener('click', () => openRecordings(d));
        const action = document.createElement('td');
        action.className = 'actions';
        action.append(watch, recordings);
        const rec = d.recording ?? { mode: 'off', active: false };
        const live = activity.get(d.id);
        const recCell = cell(
          recordingLabel(rec.mode, rec.active, live),
          (live ? live.state === 'recording' : rec.active) ? 'recording' : undefined,
        );
        recCell.dataset.recordingMode = rec.mode;
        const stateCell = cell(state, state);
        stateCell.dataset.presence = state;
        const seenCell = cell(seen);
        seenCell.dataset.seen = '';
        tr.append(cell(d.name), cell(d.id), stateCell, seenCell, recCell, action);
        return tr;
      }),
    );
  $('devices').hidden = devices.length === 0;
  status.textContent = devices.length === 0 ? 'No cameras yet: add one with `lookout device add <id>`.' : '';
}

/** A tile that plays one camera and keeps trying while it is open (offline camera, lost connection). */
function openPlayer(deviceId, name) {
  if (players.has(deviceId)) return;
  const tile = $('tile').content.firstElementChild.cloneNode(true);
  tile.dataset.device = deviceId;
  tile.querySelector('.name').textContent = name;
  const video = tile.querySelector('video');
  const state = tile.querySelector('.state');
  const player = { deviceId, session: undefined, closed: false, retry: undefined, frames: 0 };
  players.set(deviceId, player);
  $('players').append(tile);

  const setState = (text) => {
    state.textContent = text;
    tile.dataset.state = text;
  };
  const schedule = (seconds, why) => {
    setState(`${why}; retrying in ${seconds} s`);
    player.retry = setTimeout(connect, seconds * 1000);
  };
  const connect = async () => {
    if (player.closed) return;
    setState('connecting…');
    try {
      const session = await playWhep(video, deviceId, token());
      if (player.closed) return session.stop();
      player.session = session;
      player.pc = session.pc;
      let stalled;
      const lost = () => {
        clearTimeout(stalled);
        if (player.session !== session || player.closed) return;
        player.session = undefined;
        session.stop();
        schedule(1, 'connection lost');
      };
      session.pc.addEventListener('connectionstatechange', () => {
        const s = session.pc.connectionState;
        if (s === 'failed' || s === 'closed') lost();
        // The server's side is gone (its media worker restarted, the network dropped): the
        // browser says 'disconnected' within seconds but 'failed' only after ~30 s. A session
        // that stays disconnected for 4 s is given up and a new one is made.
        else if (s === 'disconnected') stalled ??= setTimeout(lost, 4000);
        else if (s === 'connected') {
          clearTimeout(stalled);
          stalled = undefined;
        }
      });
    } catch (err) {
      if (err instanceof WhepError && err.status === 503) schedule(err.retryAfter || 5, 'camera offline');
      else if (err instanceof WhepError && err.status < 500) setState(`error: ${err.message}`);
      else schedule(5, `error: ${err.message}`);
    }
  };
  const ticker = setInterval(async () => {
    if (!player.session) return;
    player.frames = await framesDecoded(player.session.pc);
    setState(player.frames > 0 ? `live · ${player.frames} frames` : 'waiting for video…');
  }, 1000);
  tile.querySelector('.close').addEventListener('click', () => {
    player.closed = true;
    clearTimeout(player.retry);
    clearInterval(ticker);
    player.session?.stop();
    players.delete(deviceId);
    tile.remove();
  });
  connect();
}

const openRecordings = recordingsPanel({ token, onPolicyChange: () => loadDevices() });

// Presence, recording activity and server health come pushed (live.js); the device list is
// fetched again on every snapshot (first connection, reconnection, a device added or removed).
const live = watchServer(token, {
  health: showHealth,
  async snapshot(s) {
    for (const d of s.devices) activity.set(d.id, d.recording);
    await loadDevices();
    for (const d of s.devices) applyPresence({ id: d.id, online: d.online, at: d.lastSeenAt });
  },
  presence: applyPresence,
  recording: applyRecording,
  revoked() {
    $('status').textContent = 'This API token was revoked: enter another one.';
    $('devices').hidden = true;
  },
});

$('save').addEventListener('click', () => {
  localStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  loadDevices();
  live.restart();
});

loadDevices();
