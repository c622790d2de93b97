import { useState } from 'preact/hooks';
import type { IssuedDeviceDocument } from '../../../http-contract/index.js';
import { edgeConfigText } from '../device-admin.js';

/** Saves `text` as `name` through a Blob link (no round trip: the secret is not asked for again). */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * A device's edge config, shown once after add or rotate: download it as `<id>.json`, or copy
 * it. It holds the device secret, which the server does not keep. (No QR code yet: no QR
 * encoder is among the app's dependencies.)
 */
export function IssuedConfig({ issued, onDone }: { issued: IssuedDeviceDocument; onDone(): void }) {
  const [copied, setCopied] = useState('');
  const text = edgeConfigText(issued);
  const file = `${issued.device.id}.json`;
  return (
    <section id="issued-config" class="issued" aria-labelledby="issued-title">
      <h3 id="issued-title">Edge config of {issued.device.name}</h3>
      <p>
        Flash this file onto the camera (<code>lookout agent --config {file}</code>). It holds the camera's
        secret and is shown only now: download or copy it before you close this.
      </p>
      <div class="toolbar">
        <button id="issued-download" type="button" onClick={() => download(file, text)}>
          Download {file}
        </button>
        <button
          id="issued-copy"
          type="button"
          onClick={() =>
            navigator.clipboard.writeText(text).then(
              () => setCopied('Copied.'),
              () => setCopied('Copying failed: select the text below.'),
            )
          }
        >
          Copy
        </button>
        <button id="issued-done" type="button" onClick={onDone}>
          Done
        </button>
        <span class="muted" role="status">
          {copied}
        </span>
      </div>
      <pre id="issued-json">{text}</pre>
    </section>
  );
}
