import { useEffect, useRef, useState } from 'preact/hooks';
import type { DeviceDocument } from '../../../http-contract/index.js';
import { authHeaders, deviceUrl } from '../api.js';
import { offlineFor } from '../grid-layout.js';
import { presence, watch } from '../state.js';
import { stillRound } from '../still-refresh.js';
import { time } from '../time.js';

type Picture =
  | { state: 'loading' }
  | { state: 'shown'; url: string; source: string; caption: string }
  | { state: 'none'; caption: string };

/** What a `still.jpg` answer says about where the picture came from. */
function captionOf(res: Response): string {
  const source = res.headers.get('x-lookout-still-source');
  if (source === 'recording') {
    const at = Date.parse(res.headers.get('last-modified') ?? '');
    return Number.isNaN(at) ? 'from a recording' : `recorded at ${time(at)}`;
  }
  const age = Number(res.headers.get('x-lookout-still-age-ms'));
  return `still ${Number.isFinite(age) ? Math.round(age / 1000) : 0} s old`;
}

/**
 * A camera nobody watches here: its still picture (a recent keyframe, or its newest recording's
 * thumbnail), refreshed each round without waking the camera; "Refresh still" asks the server
 * to wake it for one picture. Watch opens it live.
 */
export function StillTile({ device }: { device: DeviceDocument }) {
  const [picture, setPicture] = useState<Picture>({ state: 'loading' });
  const [wakes, setWakes] = useState(0);
  const [busy, setBusy] = useState(false);
  const url = useRef<string | undefined>(undefined);
  const round = stillRound.value;
  const shown = presence.value.get(device.id);
  const state = shown?.state ?? (device.online ? 'online' : 'offline');

  useEffect(() => {
    const abort = new AbortController();
    const wake = wakes > 0;
    if (wake) setBusy(true);
    fetch(`${deviceUrl(device.id)}/still.jpg${wake ? '?wake=1' : ''}`, {
      headers: authHeaders(),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: abort.signal,
    })
      .then(async (res) => {
        if (res.ok) {
          const caption = captionOf(res);
          const next = URL.createObjectURL(await res.blob());
          if (url.current) URL.revokeObjectURL(url.current);
          url.current = next;
          setPicture({
            state: 'shown',
            url: next,
            source: res.headers.get('x-lookout-still-source') ?? '',
            caption,
          });
        } else if (res.status === 404) {
          setPicture({ state: 'none', caption: 'no picture yet (not streaming, nothing recorded)' });
        } else if (res.status === 403) {
          setPicture({ state: 'none', caption: 'no right to view this camera' });
        } else
          setPicture((p) =>
            p.state === 'shown' ? p : { state: 'none', caption: `no picture (HTTP ${res.status})` },
          );
      })
      .catch(() => {
        if (!abort.signal.aborted)
          setPicture((p) => (p.state === 'shown' ? p : { state: 'none', caption: 'no picture' }));
      })
      .finally(() => {
        if (!abort.signal.aborted) setBusy(false);
      });
    return () => abort.abort();
  }, [device.id, round, wakes]);
  useEffect(
    () => () => {
      if (url.current) URL.revokeObjectURL(url.current);
    },
    [],
  );

  const presenceText =
    state === 'online'
      ? 'online'
      : state === 'offline'
        ? offlineFor(shown?.at ?? device.lastSeenAt, Date.now())
        : state;
  return (
    <figure
      class="tile still"
      data-still-of={device.id}
      data-still={picture.state}
      data-still-source={picture.state === 'shown' ? picture.source : undefined}
    >
      {picture.state === 'shown' ? (
        <img src={picture.url} alt={`${device.name}, ${picture.caption}`} />
      ) : (
        <div class="no-still muted">{picture.state === 'loading' ? 'loading still…' : picture.caption}</div>
      )}
      <figcaption>
        <strong class="name">{device.name}</strong>{' '}
        <span class="state muted" data-presence={state}>
          {presenceText}
          {picture.state === 'shown' ? ` · ${picture.caption}` : ''}
        </span>
        <span class="still-actions">
          <button
            type="button"
            data-refresh-still={device.id}
            disabled={busy || state !== 'online'}
            title={
              state === 'online'
                ? 'Ask the camera for a picture now (wakes it briefly)'
                : 'The camera is offline'
            }
            onClick={() => setWakes((n) => n + 1)}
          >
            {busy ? 'Asking…' : 'Refresh still'}
            <span class="visually-hidden"> of {device.name}</span>
          </button>
          <button type="button" data-watch-still={device.id} onClick={() => watch(device.id, device.name)}>
            Watch<span class="visually-hidden"> {device.name}</span>
          </button>
        </span>
      </figcaption>
    </figure>
  );
}
