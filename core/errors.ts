/**
 * Coded errors. Every error Lookout raises on purpose carries a stable `code`
 * (`LOOKOUT_ERR_*`-style, short form here) so that boundaries (CLI exit
 * messages, HTTP problem responses, MQTT reason codes, signaling `error`
 * messages) can map it without parsing text.
 */
export class LookoutError extends Error {
  readonly code: string;
  /** Extra machine-readable context (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LookoutError';
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a LookoutError with the given code. */
export function hasCode(err: unknown, code: string): err is LookoutError {
  return err instanceof LookoutError && err.code === code;
}

/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(String(value), { cause: value });
}
