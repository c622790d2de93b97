import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * Shows `target` (a tile) on the whole screen and back (the Fullscreen API). A button, so the
 * keyboard reaches it; Escape leaves, as the browser does itself and, where it hands the key to
 * the page, as this does.
 */
export function FullscreenButton({ target, name }: { target: RefObject<HTMLElement | null>; name: string }) {
  const [full, setFull] = useState(false);
  useEffect(() => {
    const element = target.current;
    if (!element) return;
    const changed = () => setFull(document.fullscreenElement === element);
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && document.fullscreenElement === element) void document.exitFullscreen();
    };
    document.addEventListener('fullscreenchange', changed);
    element.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('fullscreenchange', changed);
      element.removeEventListener('keydown', onKey);
    };
  }, [target]);
  if (!document.fullscreenEnabled) return null;
  return (
    <button
      class="fullscreen"
      type="button"
      aria-label={full ? `Leave full screen (${name})` : `Full screen: ${name}`}
      title={full ? 'Leave full screen (Esc)' : 'Full screen'}
      onClick={() => {
        const element = target.current;
        if (!element) return;
        if (document.fullscreenElement === element) void document.exitFullscreen();
        else element.requestFullscreen().catch(() => {});
      }}
    >
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
        <path
          d={full ? 'M6 1v5H1M10 1v5h5M6 15v-5H1M10 15v-5h5' : 'M1 6V1h5M15 6V1h-5M1 10v5h5M15 10v5h-5'}
          fill="none"
          stroke="currentColor"
          stroke-width="2"
        />
      </svg>
    </button>
  );
}
