/**
 * A media worker process (forked by media/boundary/process.ts). It waits for `init`, runs one
 * MediaEngine, answers requests and forwards the engine's events and log records over IPC. It
 * exits when told to shut down or when its parent is gone (the IPC channel closes).
 */
import { Writable } from 'node:stream';
import { createLogger, guardStdio } from '../../core/log.js';
import type { FromWorker, ToWorker } from '../boundary/protocol.js';
import { errorForWire } from '../boundary/wire.js';
import { MediaEngine } from '../engine.js';

guardStdio();

function post(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

let engine: MediaEngine | undefined;

process.on('message', (raw) => {
  const message = raw as ToWorker;
  if (message.type === 'init') {
    if (engine) return;
    const { init } = message;
    // Log records go to the control plane, which logs them with the worker id.
    const destination = new Writable({
      write(chunk, _encoding, done) {
        try {
          post({ type: 'event', event: 'log', data: { record: JSON.parse(String(chunk)) } });
        } catch {
          // A record that cannot be sent is lost; the worker runs on.
        }
        done();
      },
    });
    const log = createLogger({ level: init.logLevel, format: 'json', destination });
    engine = new MediaEngine(init.engine, (event) => post({ type: 'event', ...event } as FromWorker), log);
    post({ type: 'ready', pid: process.pid });
  } else if (message.type === 'request') {
    if (!engine) {
      post({
        type: 'response',
        id: message.id,
        ok: false,
        error: { code: 'MEDIA_WORKER_START', message: 'not started' },
      });
      return;
    }
    engine.handle(message.command, message.args as never).then(
      (result) => post({ type: 'response', id: message.id, ok: true, result: result ?? null }),
      (err: unknown) => post({ type: 'response', id: message.id, ok: false, error: errorForWire(err) }),
    );
  } else if (message.type === 'shutdown') {
    void shutdown(0);
  }
});

process.on('disconnect', () => void shutdown(0));
process.on('uncaughtException', (err) => {
  process.stderr.write(`media worker: uncaught exception: ${err.stack ?? err}\n`);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`media worker: unhandled rejection: ${(err as Error)?.stack ?? err}\n`);
});

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(code), 8000);
  timer.unref();
  try {
    await engine?.close();
  } finally {
    process.exit(code);
  }
}
