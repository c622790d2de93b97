import { useMemo, useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
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
 * it, or scan its QR code (the same JSON, without white space) with a phone or a provisioning
 * tool. It holds the device secret, which the server does not keep.
 */
export function IssuedConfig({ issued, onDone }: { issued: IssuedDeviceDocument; onDone(): void }) {
  const [copied, setCopied] = useState('');
  const text = edgeConfigText(issued);
  const file = `${issued.device.id}.json`;
  // uqr makes an SVG of plain rects from our own JSON: nothing in it comes from markup.
  const qr = useMemo(() => renderSVG(JSON.stringify(JSON.parse(text)), { ecc: 'L', border: 2 }), [text]);
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
      <div
        id="issued-qr"
        class="qr"
        role="img"
        aria-label={`QR code of the edge config of ${issued.device.name}`}
        dangerouslySetInnerHTML={{ __html: qr }}
      />
      <pre id="issued-json">{text}</pre>
    </section>
  );
}
