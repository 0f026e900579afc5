import type { FastifyRequest } from 'fastify'
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http'
import { Http2ServerRequest } from 'node:http2'

/**
 * Reading the token header. On a socket, Node has already stripped the value's surrounding
 * whitespace and joined repeated header lines into one `a, b` value; `inject` and HTTP/2 shims do
 * neither, so both are handled here to make every transport behave like the wire.
 */

/** Returned for a header that arrived as several values (an array): always refused. */
export const SEVERAL = null

/** The presented token, `undefined` when absent or empty, `SEVERAL` when sent as several values. */
export function extractToken (value: string | string[] | undefined): string | undefined | typeof SEVERAL {
  if (typeof value !== 'string') {
    if (value === undefined) return undefined
    return value.length === 1 ? extractToken(value[0]) : SEVERAL
  }
  const last = value.length - 1
  if (last < 0) return undefined
  if (isOws(value.charCodeAt(0)) || isOws(value.charCodeAt(last))) {
    const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '')
    return trimmed === '' ? undefined : trimmed
  }
  return value
}

function isOws (code: number): boolean {
  return code === 0x20 || code === 0x09
}

/**
 * Whether the header came on more than one line. Asked on the refusal path to log the right reason
 * (a joined `a, b` value can never equal a key without `, ` in it), and on success only for a key
 * that contains `, ` or a header name Node keeps once and drops the second line of.
 */
export function sentMoreThanOnce (request: FastifyRequest, header: string): boolean {
  const raw = request.raw.rawHeaders
  if (!Array.isArray(raw)) return false
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    if (isHeaderName(raw[i] as string, header)) seen++
  }
  return seen > 1
}

/**
 * Whether a raw header name (as sent: `Dapr-Api-Token` from Go clients) is `lower`, an already
 * lower-case name, as Node's `toLowerCase` keys the parsed headers. ASCII is folded in place, with
 * no lowered copy made of each name of the right length (`Content-Length` is as long as
 * `dapr-api-token`); a name with a character above ASCII is left to `toLowerCase`, which folds some
 * of those into ASCII (the Kelvin sign into `k`).
 */
export function isHeaderName (name: string, lower: string): boolean {
  const length = lower.length
  if (name.length !== length) return false
  for (let i = 0; i < length; i++) {
    let c = name.charCodeAt(i)
    if (c > 0x7f) return name.toLowerCase() === lower
    if (c >= 0x41 && c <= 0x5a) c |= 0x20
    if (c !== lower.charCodeAt(i)) return false
  }
  return true
}

/**
 * Node's `IncomingMessage` builds `headersDistinct` lazily from `rawHeaders`, looping up to a header
 * count it recorded when parsing. Removing a pair from `rawHeaders` without lowering that count
 * makes the first later read of `request.raw.headersDistinct` throw (a 500 in whatever reads it).
 * The count (and the distinct view, if something already built it) sit behind symbols that Node
 * does not export, so they are found once, by name, on a throwaway message.
 */
const probe = new IncomingMessage(undefined as never)
Reflect.get(probe, 'headersDistinct')
const nodeSymbols = Object.getOwnPropertySymbols(probe)
const HEADERS_COUNT = nodeSymbol(nodeSymbols, 'kHeadersCount')
const HEADERS_DISTINCT = nodeSymbol(nodeSymbols, 'kHeadersDistinct')

/** The symbol Node describes as `description`, or a fresh one that no message carries (other runtimes). */
export function nodeSymbol (symbols: readonly symbol[], description: string): symbol {
  return symbols.find(symbol => symbol.description === description) ?? Symbol(description)
}

interface NodeMessageInternals { [key: symbol]: unknown }

/**
 * Whether this Node keeps its header count where we looked. If it does not (a future Node, another
 * runtime), `rawHeaders` is left as parsed: a stale count would make `headersDistinct` throw.
 */
const canRewriteRawHeaders = typeof (probe as unknown as NodeMessageInternals)[HEADERS_COUNT] === 'number'

/**
 * Removes the token header after a successful check (as daprd does), from the parsed headers, from
 * `rawHeaders` and from `headersDistinct`, so handlers, proxies and loggers downstream never see it.
 *
 * The parsed headers object is replaced by a copy without the token rather than `delete`d from:
 * deleting a property from the middle of the parser's object turns it into a slow dictionary
 * (measured at several microseconds, and every later header read pays too), where the copy is one
 * small object. HTTP/2's request has no `headers` setter, so there the property is deleted.
 */
export function stripTokenHeader (request: FastifyRequest, header: string): void {
  const message = request.raw
  const headers = message.headers
  if (message instanceof Http2ServerRequest) {
    delete headers[header]
  } else {
    const kept: IncomingHttpHeaders = {}
    for (const name in headers) {
      if (name !== header) kept[name] = headers[name]
    }
    message.headers = kept
  }
  const raw = message.rawHeaders
  if (!Array.isArray(raw) || !canRewriteRawHeaders) return
  // Compacted in place, then shortened by pops: no splice (which allocates the removed items) and no
  // `length` store (a runtime call); both measured slower on this path.
  const length = raw.length
  let kept = 0
  for (let i = 0; i < length; i += 2) {
    const name = raw[i] as string
    if (isHeaderName(name, header)) continue
    if (kept !== i) {
      raw[kept] = name
      raw[kept + 1] = raw[i + 1] as string
    }
    kept += 2
  }
  if (kept === length) return
  while (raw.length > kept) raw.pop()
  const internals = message as unknown as NodeMessageInternals
  // Only a message Node parsed carries these (inject's request does not).
  const count = internals[HEADERS_COUNT]
  if (typeof count === 'number') internals[HEADERS_COUNT] = count - (length - kept)
  const distinct = internals[HEADERS_DISTINCT] as Record<string, unknown> | undefined
  if (distinct !== undefined) delete distinct[header]
}
