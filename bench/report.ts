import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const BENCHMARKS_FILE = new URL('../docs/benchmarks.md', import.meta.url);

const HEADER = `# Benchmarks

Figures written by the \`npm run bench:*\` scripts; each section is replaced by its script's latest run.
Machines are shared and noisy: figures are medians over several runs, with the spread shown.
`;

/** Replaces (or appends) the section `name` of docs/benchmarks.md with `body`. */
export function writeSection(name: string, body: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  let text = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, 'utf8') : HEADER;
  const block = `${start}\n${body.trim()}\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCHMARKS_FILE, text);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function machine(): string {
  const cpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown CPU';
  const cores = (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length;
  return `${cores} x ${cpus}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}
