// Preloaded with `node --import` into a process under test: appends the URL of every module it
// loads to the file named by MODULE_TRACE_FILE, deterministically, whatever the machine's load.
// ES modules through a resolve hook (which runs on the hooks thread), CommonJS ones from the
// require cache at exit (a CommonJS package's own require() calls skip the ES hooks in Node 20).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.MODULE_TRACE_FILE;
if (file) {
  register('./module-trace-hooks.mjs', import.meta.url, { data: { file } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const loaded = Object.keys(require.cache).map((p) => `file://${p}`);
    appendFileSync(file, `${loaded.join('\n')}\n`);
  });
}
