// The recordings panel: a camera's segments and gaps on a timeline, playback, export links,
// and its recording mode. Uses only the public HTTP API.

const $ = (id) => document.getElementById(id);
const REASONS = {
  'camera-offline': 'camera offline',
  'recorder-fault': 'recorder fault',
  'disk-full': 'disk full',
  'media-worker-died': 'media worker restarted',
  'server-stopped': 'server stopped',
  'server-down': 'server down',
};
const REFRESH_MS = 10_000;

/** A failed API call; `message` is the problem document's detail when there is one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Calls the API with the bearer token; resolves with the JSON body or rejects with ApiError. */
export async function api(token, path, init = {}) {
  const headers = { authorization: `Bearer ${token}`, ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
  return res.json();
}

const time = (ms) => new Date(ms).toLocaleTimeString();
const dateTime = (ms) => new Date(ms).toLocaleString();
const seconds = (ms) => `${Math.round(ms / 100) / 10} s`;

/** `ms` as a datetime-local value (local time, seconds precision). */
function localInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Wires the panel. `token()` returns the API token; `onPolicyChange()` is called after the
 * recording mode changed (to refresh the device table). Returns `open(device)`.
 */
export function recordingsPanel({ token, onPolicyChange }) {
  // The export link exists once there is a range to link to.
  const link = document.createElement('a');
  link.id = 'download';
  link.download = '';
  link.hidden = true;
  $('download-form').append(link);
  const state = {
    device: undefined,
    listing: undefined,
    fromMs: 0,
    toMs: 0,
    timer: undefined,
    downloadEdited: false,
    playing: undefined,
  };
  const status = (text) => {
    $('rec-status').textContent = text;
  };
  const deviceUrl = () => `/api/devices/${encodeURIComponent(state.device.id)}`;
  const mediaUrl = (path, params = {}) => {
    const query = new URLSearchParams({ ...params, access_token: token() });
    return `${path}?${query}`;
  };

  function showPolicy(recording) {
    $('rec-mode').value = recording.mode;
    const onDemand = recording.mode === 'on-demand';
    $('rec-start').disabled = !onDemand || recording.active;
    $('rec-stop').disabled = !onDemand || !recording.active;
    $('rec-active').textContent = recording.active ? 'recording now' : 'not recording';
  }

  /** Left offset and width in percent of the shown range, clipped to it. */
  function place(el, startMs, endMs) {
    const span = state.toMs - state.fromMs;
    const start = Math.max(startMs, state.fromMs);
    const end = Math.min(endMs ?? state.toMs, state.toMs);
    el.style.left = `${((start - state.fromMs) / span) * 100}%`;
    el.style.width = `${(Math.max(0, end - start) / span) * 100}%`;
  }

  function renderTimeline() {
    const { segments, gaps } = state.listing;
    const blocks = [];
    for (const gap of gaps) {
      const el = document.createElement('div');
      el.className = 'gap';
      el.dataset.reason = gap.reason;
      const end = gap.end ? time(Date.parse(gap.end)) : 'now';
      el.title = `${REASONS[gap.reason] ?? gap.reason}: ${time(Date.parse(gap.start))} – ${end}`;
      el.setAttribute('role', 'img');
      el.setAttribute('aria-label', el.title);
      place(el, Date.parse(gap.start), gap.end && Date.parse(gap.end));
      blocks.push(el);
    }
    for (const segment of segments) {
      const el = document.createElement('button');
      el.type = 'button';
      el.className = `segment ${segment.state}`;
      el.dataset.segmentId = segment.id;
      el.dataset.state = segment.state;
      const startMs = Date.parse(segment.start);
      const endMs = segment.end ? Date.parse(segment.end) : null;
      const span = `${time(startMs)} – ${endMs ? time(endMs) : 'now'}`;
      el.title =
        segment.state === 'complete'
          ? `${span} (${seconds(segment.durationMs)}, ${segment.videoCodec}): click to play from there`
          : `${span} (${segment.state})`;
      el.setAttribute('aria-label', el.title);
      el.disabled = segment.state !== 'complete';
      if (state.playing === segment.id) el.setAttribute('aria-current', 'true');
      place(el, startMs, endMs);
      el.addEventListener('click', (event) => {
        // The time under the pointer (a keyboard press starts at the beginning of the segment).
        const bar = $('timeline').getBoundingClientRect();
        const at = state.fromMs + ((event.clientX - bar.left) / bar.width) * (state.toMs - state.fromMs);
        const offset = event.detail === 0 ? 0 : (at - startMs) / 1000;
        play(segment, Math.max(0, Math.min(segment.durationMs / 1000 - 0.5, offset)));
      });
      blocks.push(el);
    }
    $('timeline').replaceChildren(...blocks);
    $('axis-from').textContent = dateTime(state.fromMs);
    $('axis-to').textContent = dateTime(state.toMs);
    const complete = segments.filter((s) => s.state === 'complete').length;
    const gapCount = gaps.length;
    status(
      segments.length === 0
        ? 'Nothing recorded in this range.'
        : `${complete} recorded segment${complete === 1 ? '' : 's'}, ${gapCount} gap${gapCount === 1 ? '' : 's'}.`,
    );
  }

  /** Plays `segment` from `offset` seconds; when it ends, the next recorded segment follows. */
  function play(segment, offset) {
    const video = $('playback');
    state.playing = segment.id;
    for (const el of $('timeline').querySelectorAll('.segment')) {
      if (el.dataset.segmentId === String(segment.id)) el.setAttribute('aria-current', 'true');
      else el.removeAttribute('aria-current');
    }
    const startMs = Date.parse(segment.start) + offset * 1000;
    video.dataset.segmentId = segment.id;
    video.dataset.offset = offset.toFixed(2);
    video.src = `${mediaUrl(segment.url)}#t=${offset.toFixed(2)}`;
    video.play().catch(() => {});
    $('playback-label').textContent = `Playing ${state.device.name}, from ${dateTime(startMs)}.`;
  }

  $('playback').addEventListener('ended', () => {
    const segments = state.listing?.segments ?? [];
    const current = segments.find((s) => s.id === state.playing);
    const next = current && segments.find((s) => s.state === 'complete' && s.start === current.end);
    if (next) play(next, 0);
  });
  $('playback').addEventListener('error', () => {
    const error = $('playback').error;
    if (error) $('playback-label').textContent = `Cannot play this recording: ${error.message || error.code}`;
  });

  function updateDownload() {
    const fromMs = Date.parse($('dl-from').value);
    const toMs = Date.parse($('dl-to').value);
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) {
      link.hidden = true;
      return undefined;
    }
    const range = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
    link.href = mediaUrl(`${deviceUrl()}/export.mp4`, range);
    link.textContent = `Download ${time(fromMs)} – ${time(toMs)}`;
    link.hidden = false;
    return { href: link.href, label: `${dateTime(fromMs)} – ${dateTime(toMs)}` };
  }

  async function refresh() {
    if (!state.device) return;
    const hours = Number($('rec-range').value);
    const to = Date.now();
    const from = to - hours * 3_600_000;
    const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    const deviceId = state.device.id;
    try {
      const [listing, device] = await Promise.all([
        api(token(), `${deviceUrl()}/recordings?${query}`),
        api(token(), deviceUrl()),
      ]);
      if (state.device?.id !== deviceId) return;
      Object.assign(state, { listing, fromMs: Date.parse(listing.from), toMs: Date.parse(listing.to) });
      renderTimeline();
      showPolicy(device.recording);
      if (!state.downloadEdited) {
        $('dl-from').value = localInput(state.fromMs);
        $('dl-to').value = localInput(state.toMs);
        updateDownload();
      }
    } catch (err) {
      status(`Cannot load recordings: ${err.message}`);
    }
  }

  async function setPolicy(path, init) {
    try {
      const device = await api(token(), `${deviceUrl()}/${path}`, init);
      showPolicy(device.recording);
      status(`Recording is ${device.recording.mode}${device.recording.active ? ', recording now' : ''}.`);
      onPolicyChange();
    } catch (err) {
      status(`Cannot change recording: ${err.message}`);
      refresh();
    }
  }

  $('rec-mode').addEventListener('change', () =>
    setPolicy('recording', { method: 'PATCH', body: JSON.stringify({ mode: $('rec-mode').value }) }),
  );
  $('rec-start').addEventListener('click', () => setPolicy('recording/start', { method: 'POST' }));
  $('rec-stop').addEventListener('click', () => setPolicy('recording/stop', { method: 'POST' }));
  $('rec-range').addEventListener('change', () => {
    state.downloadEdited = false;
    refresh();
  });
  $('rec-refresh').addEventListener('click', refresh);
  for (const id of ['dl-from', 'dl-to']) {
    $(id).addEventListener('input', () => {
      state.downloadEdited = true;
      updateDownload();
    });
  }
  $('download-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const range = updateDownload();
    if (!range) {
      status('The download range must end after it starts.');
      return;
    }
    const video = $('playback');
    state.playing = undefined;
    delete video.dataset.segmentId;
    video.dataset.offset = '0';
    video.src = range.href;
    video.play().catch(() => {});
    $('playback-label').textContent = `Playing ${state.device.name}, ${range.label}.`;
  });
  $('rec-close').addEventListener('click', () => {
    clearInterval(state.timer);
    state.device = undefined;
    $('playback').removeAttribute('src');
    $('playback').load();
    $('recordings').hidden = true;
  });

  return function open(device) {
    const switched = state.device?.id !== device.id;
    state.device = device;
    if (switched) {
      Object.assign(state, { listing: undefined, playing: undefined, downloadEdited: false });
      $('timeline').replaceChildren();
      $('playback').removeAttribute('src');
      $('playback').load();
      $('playback-label').textContent = 'Click a recorded block in the timeline to play it from there.';
      status('Loading…');
    }
    $('rec-camera').textContent = device.name;
    showPolicy(device.recording);
    $('recordings').hidden = false;
    $('recordings').scrollIntoView({ block: 'nearest' });
    clearInterval(state.timer);
    state.timer = setInterval(refresh, REFRESH_MS);
    refresh();
  };
}
