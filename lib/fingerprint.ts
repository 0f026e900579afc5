import { createHash } from 'node:crypto'

/**
 * The short, non-reversible name of a key that logs, `request.daprToken` and the CLI show instead
 * of the key: the first 12 hex digits of its SHA-256. Computed when a key is loaded, never per request.
 */
export function fingerprint (key: string | Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12)
}
