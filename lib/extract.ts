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
 * Whether `value` could be several header lines as Node joins them (`a, b`; `a` and an empty line
 * make `a, `, which arrives trimmed to `a,`). A value that could not needs no look at rawHeaders.
 */
export function mayBeJoined (value: string): boolean {
  return value.includes(', ') || value.endsWith(',')
}

/**
 * Whether the header came on more than one line. Asked on the refusal path to log the right reason,
 * and on success only for a key that joined lines could spell (`mayBeJoined`), for Cookie (joined
 * by `; `) or for a header name Node keeps once and drops the second line of.
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
 * lower-case name, as Node's `toLowerCase` keys the parsed headers (which folds some characters
 * above ASCII into ASCII: the Kelvin sign into `k`). A name already in lower case needs no copy, and
 * a first letter that differs in any case settles most names of the right length (`Content-Length`
 * is as long as `dapr-api-token`) without one; a loop folding each character measured slower than
 * `toLowerCase` on a name that matches.
 */
export function isHeaderName (name: string, lower: string): boolean {
  if (name.length !== lower.length) return false
  if (name === lower) return true
  const first = name.charCodeAt(0)
  if (first < 0x80 && (first | 0x20) !== (lower.charCodeAt(0) | 0x20)) return false
  return name.toLowerCase() === lower
}

/** `header` as Go's `CanonicalMIMEHeaderKey` writes it (`Dapr-Api-Token`): how daprd sends it, compared first. */
export function canonicalHeaderName (header: string): string {
  return header.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase())
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
export const HEADERS_COUNT = nodeSymbol(nodeSymbols, 'kHeadersCount')
const HEADERS_DISTINCT = nodeSymbol(nodeSymbols, 'kHeadersDistinct')

/** The symbol Node describes as `description`, or a fresh one that no message carries (other runtimes). */
export function nodeSymbol (symbols: readonly symbol[], description: string): symbol {
  return symbols.find(symbol => symbol.description === description) ?? Symbol(description)
}

interface NodeMessageInternals { [key: symbol]: unknown }

/** Fastify keeps headers given to the `request.headers` setter here (lib/request.js). */
interface FastifyRequestWithAddedHeaders { additionalHeaders?: Record<string, unknown> | null }

/**
 * Whether this Node keeps its header count where we looked. If it does not (a future Node, another
 * runtime), `rawHeaders` is left as parsed: a stale count would make `headersDistinct` throw.
 */
const canRewriteRawHeaders = typeof (probe as unknown as NodeMessageInternals)[HEADERS_COUNT] === 'number'

/**
 * Whether header lines may have gone unseen. Past the server's `maxHeadersCount`, Node 20 keeps
 * some lines in `rawHeaders` only (parsed fewer than arrived) and drops whole batches of the rest
 * once its store reached the limit; later versions answer 431 instead. So on Node 20 a message
 * whose parsed count reached the limit may have lost lines nobody can see, a second token line
 * among them: the limit counts as reached even when exactly that many lines were sent.
 */
export function linesUnparsed (request: FastifyRequest): boolean {
  const message = request.raw
  const count = (message as unknown as NodeMessageInternals)[HEADERS_COUNT]
  if (typeof count !== 'number') return false
  return count < message.rawHeaders.length || (DROPS_HEADER_LINES && atParserLimit(message, count))
}

/** Node before 22 drops header lines past the server's maxHeadersCount; later versions answer 431. */
export function dropsHeaderLines (nodeVersion: string): boolean {
  return Number(nodeVersion.split('.')[0]) < 22
}

const DROPS_HEADER_LINES = dropsHeaderLines(process.versions.node)

/** Node's limit, in `rawHeaders` entries (two a line), where the server sets none (lib/_http_common.js). */
const NODE_HEADER_ENTRIES = 2000

interface ParsingSocket { parser?: { maxHeaderPairs?: unknown } | null, server?: { maxHeadersCount?: unknown } | null }

/** Whether the parser's store of header entries reached its limit (0: none) for this message. */
export function atParserLimit (message: IncomingMessage, count: number): boolean {
  const socket = message.socket as ParsingSocket | null
  // The socket's parser carries the limit it applied: the server's maxHeadersCount, doubled. Once
  // the client has closed the connection the parser is gone (after an await), and the server says it.
  const pairs = socket?.parser?.maxHeaderPairs
  const entries = typeof pairs === 'number' ? pairs : serverHeaderEntries(socket)
  return entries > 0 && count >= entries
}

function serverHeaderEntries (socket: ParsingSocket | null): number {
  const lines = socket?.server?.maxHeadersCount
  return typeof lines === 'number' ? 2 * lines : NODE_HEADER_ENTRIES
}

/**
 * Removes the token header after a successful check (as daprd does), from the parsed headers, from
 * `rawHeaders` and from `headersDistinct`, so handlers, proxies and loggers downstream never see it.
 *
 * The parsed headers object is replaced by a copy without the token rather than `delete`d from:
 * deleting a property from the middle of the parser's object turns it into a slow dictionary
 * (measured at several microseconds, and every later header read pays too), where the copy is one
 * small object. HTTP/2's request has no `headers` setter, so there the property is deleted.
 *
 * `oneLine`: the caller knows that the parsed value stands for every line of the header (Node
 * joins this header's lines, or the caller saw only one). On a message Node parsed, a raw line
 * with exactly that value and the header's name is then the only line of it, and is found without
 * matching every header's name (see `withoutLineOf`).
 */
export function stripTokenHeader (request: FastifyRequest, header: string, canonical: string, oneLine: boolean): void {
  // Headers an earlier hook set through Fastify's `request.headers` setter are kept apart and merged
  // over the message's on every read: a copy of the token there would come back.
  const added = (request as FastifyRequestWithAddedHeaders).additionalHeaders
  if (added != null && typeof added === 'object' && Object.hasOwn(added, header)) {
    const { [header]: _token, ...rest } = added
    ;(request as FastifyRequestWithAddedHeaders).additionalHeaders = rest
  }
  const message = request.raw
  const headers = message.headers
  const value = headers[header]
  // Where the token sits among the parsed names, and how many there are: while every name came on
  // one raw line, its raw line is the one at that place.
  let names = 0
  let place = -1
  if (message instanceof Http2ServerRequest) {
    delete headers[header]
  } else {
    const kept = new HeadersCopy()
    for (const name in headers) {
      if (name === header) place = names
      else kept[name] = headers[name]
      names++
    }
    message.headers = kept
  }
  const raw = message.rawHeaders
  if (!Array.isArray(raw) || !canRewriteRawHeaders) return
  const internals = message as unknown as NodeMessageInternals
  // Only a message Node parsed carries a count (inject's request does not): how many raw entries
  // it parsed into `headers`, fewer than there are past the server's `maxHeadersCount`. While it
  // counts every entry, Node's parsed value of a header is made of all its lines.
  const count = internals[HEADERS_COUNT]
  const length = raw.length
  const counted = typeof count === 'number' ? count : length
  const guess = length === 2 * names ? 2 * place + 1 : -1
  const removed = oneLine && count === length && typeof value === 'string' && withoutLineOf(raw, value, header, canonical, guess)
    ? 2
    : withoutLinesNamed(raw, header, counted)
  if (raw.length === length) return
  if (typeof count === 'number') internals[HEADERS_COUNT] = count - removed
  const distinct = internals[HEADERS_DISTINCT] as Record<string, unknown> | undefined
  if (distinct !== undefined) delete distinct[header]
}

/**
 * Makes the copy. What it makes is like `{}` in every way that can be seen (its prototype is
 * `Object.prototype`, its `constructor` is `Object`), but V8 sizes objects made with `new` for the
 * properties they were seen to get, so the copy is filled without growing a second store for them:
 * measured about 15% faster to fill than `{}`.
 */
const HeadersCopy = function HeadersCopy (): void {} as unknown as new () => IncomingHttpHeaders
HeadersCopy.prototype = Object.prototype

/**
 * Removes the one line of `header` whose value is `value`; false when the first line with that
 * value is not one of `header` (another header with the same value comes first, or there is no
 * such line: a joined value), and the names must be looked at instead. The line is looked for at
 * `guess` first (where the parsed names put it), then by one native `indexOf`: either costs a
 * fraction of matching every name (bench/micro.ts, `static-1`).
 */
function withoutLineOf (raw: string[], value: string, header: string, canonical: string, guess: number): boolean {
  const at = guess > 0 && raw[guess] === value ? guess : raw.indexOf(value)
  // A value sits at an odd index; -1 (not found) is odd in two's complement too.
  if (at < 1 || (at & 1) === 0) return false
  const name = raw[at - 1] as string
  if (name !== canonical && !isHeaderName(name, header)) return false
  const length = raw.length
  for (let i = at + 1; i < length; i++) raw[i - 2] = raw[i] as string
  // Shortened by pops: a `length` store is a runtime call, measured slower on this path.
  raw.pop()
  raw.pop()
  return true
}

/**
 * Removes every line named `header` in place, keeping the other pairs in order, and returns how
 * many of the first `counted` entries (those Node parsed) went.
 */
function withoutLinesNamed (raw: string[], header: string, counted: number): number {
  // No splice: it allocates the removed items.
  const length = raw.length
  let kept = 0
  let removed = 0
  for (let i = 0; i < length; i += 2) {
    const name = raw[i] as string
    if (isHeaderName(name, header)) {
      if (i < counted) removed += 2
      continue
    }
    if (kept !== i) {
      raw[kept] = name
      raw[kept + 1] = raw[i + 1] as string
    }
    kept += 2
  }
  while (raw.length > kept) raw.pop()
  return removed
}
