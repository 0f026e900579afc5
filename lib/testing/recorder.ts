/** What the fake sidecar saw or sent: one entry per HTTP exchange, in order. */
export interface CallRecord {
  /** `in`: a call to the sidecar's API; `out`: a call the sidecar made to the app. */
  direction: 'in' | 'out'
  method: string
  /** Path and query as sent on the request line. */
  path: string
  /** The status answered; `0` when the app could not be reached. */
  status: number
  /** Request headers, with the token header's value replaced by `'[redacted]'`. */
  headers: Record<string, string>
}

/** What a recorded token header reads as: the presence of a token shows, its value never does. */
export const REDACTED = '[redacted]'

/** A copy of `headers` that is safe to keep and print: the token header's value is redacted. */
export function redactHeaders (headers: Record<string, string | string[] | undefined>, tokenHeader: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const lower = name.toLowerCase()
    out[lower] = lower === tokenHeader ? REDACTED : Array.isArray(value) ? value.join(', ') : value
  }
  return out
}
