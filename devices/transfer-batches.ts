import type { TransferRow } from './stores.js';

/** Rows per write transaction during an import, and per read during an export. */
export const TRANSFER_BATCH = 500;

/** Groups an async stream of rows into arrays of at most `size`. */
export async function* inBatches(
  rows: AsyncIterable<TransferRow>,
  size = TRANSFER_BATCH,
): AsyncGenerator<TransferRow[]> {
  let batch: TransferRow[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
