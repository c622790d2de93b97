// Lookout web app: uses only the public HTTP API.
const TOKEN_KEY = 'lookout.token';
const $ = (id) => document.getElementById(id);

function token() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

async function checkHealth() {
  try {
    const res = await fetch('/healthz');
    const body = await res.json();
    $('health').textContent = `server ${body.status}, version ${body.version}`;
  } catch {
    $('health').textContent = 'server unreachable';
  }
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
  const body = $('devices').querySelector('tbody');
  body.replaceChildren(
    ...devices.map((d) => {
      const tr = document.createElement('tr');
      const state = d.revoked ? 'revoked' : d.online ? 'online' : 'offline';
      const seen = d.online ? 'now' : d.lastSeenAt ? new Date(d.lastSeenAt).toLocaleString() : 'never';
      tr.append(cell(d.name), cell(d.id), cell(state, state), cell(seen));
      return tr;
    }),
  );
  $('devices').hidden = devices.length === 0;
  status.textContent = devices.length === 0 ? 'No cameras yet: add one with `lookout device add <id>`.' : '';
}

$('save').addEventListener('click', () => {
  localStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  loadDevices();
});

checkHealth();
loadDevices();
setInterval(loadDevices, 5000);
