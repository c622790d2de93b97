/**
 * The unhandled promise rejections while `run` ran. Node reports one once the microtask queue is
 * empty, so the listener stays one macrotask past `run`: every rejection `run` left behind is seen,
 * on any machine. A `run` that throws throws here (after the listener is removed).
 */
export async function unhandledRejectionsDuring(run: () => unknown): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', record);
  }
  return unhandled;
}
