import { test } from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { atParserLimit, canonicalHeaderName, dropsHeaderLines, extractToken, isHeaderName, nodeSymbol, SEVERAL, sentMoreThanOnce, stripTokenHeader } from '../lib/extract.js'
import { buildHook } from '../lib/hook.js'
import { resolveOptions } from '../lib/options.js'

/** A request as an HTTP/2 compat layer or a hand-made object might present it. */
function fakeRequest (headers: Record<string, unknown>, rawHeaders?: unknown): FastifyRequest {
  const raw = { headers, rawHeaders }
  // As in Fastify, `request.headers` reads the raw message's headers.
  return { get headers () { return raw.headers }, raw, log: { info () {} }, routeOptions: { config: {} }, method: 'GET' } as unknown as FastifyRequest
}

test('extractToken: header values as a transport may hand them over', async t => {
  t.equal(extractToken(undefined), undefined, 'absent')
  t.equal(extractToken(''), undefined, 'empty')
  t.equal(extractToken(' \t '), undefined, 'blank')
  t.equal(extractToken(' tok\t'), 'tok', 'trimmed')
  t.equal(extractToken('a b'), 'a b', 'inner space kept')
  t.equal(extractToken(['tok']), 'tok', 'one-element array')
  t.equal(extractToken([' tok ']), 'tok', 'one-element array, trimmed')
  t.equal(extractToken(['a', 'b']), SEVERAL, 'several values')
  t.equal(extractToken([]), SEVERAL, 'an empty array is not a token')
})

test('the hook refuses a header that arrives as an array of values as a duplicate', async t => {
  const options = resolveOptions({ token: 'tok' })
  const hook = buildHook(options, options.verifier!, true)
  const request = fakeRequest({ 'dapr-api-token': ['tok', 'tok'] }, [])
  await new Promise<void>(resolve => hook(request, {} as FastifyReply, error => {
    t.match(error, { code: 'FST_DAPR_TOKEN_DUPLICATE', statusCode: 401 })
    resolve()
  }))
})

test('sentMoreThanOnce and stripTokenHeader cope with a request that has no rawHeaders', async t => {
  const request = fakeRequest({ 'dapr-api-token': 'tok' })
  t.equal(sentMoreThanOnce(request, 'dapr-api-token'), false)
  stripTokenHeader(request, 'dapr-api-token', 'Dapr-Api-Token', true)
  t.same(request.headers, {})
})

test('stripTokenHeader leaves rawHeaders alone when the token is not among them', async t => {
  const raw = ['host', 'x']
  const request = fakeRequest({ 'dapr-api-token': 'tok', host: 'x' }, raw)
  stripTokenHeader(request, 'dapr-api-token', 'Dapr-Api-Token', true)
  t.same(request.headers, { host: 'x' })
  t.same(raw, ['host', 'x'])
})

test('nodeSymbol finds Node\'s symbol by name, or makes one no message carries', async t => {
  const known = Symbol('kHeadersCount')
  t.equal(nodeSymbol([known], 'kHeadersCount'), known)
  const missing = nodeSymbol([known], 'kElsewhere')
  t.not(missing, known)
  t.equal(missing.description, 'kElsewhere')
})

test('stripTokenHeader removes every line of the header in any case, in place, and keeps the other pairs in order', async t => {
  const raw = ['Host', 'x', 'Dapr-Api-Token', 'a', 'Accept', 'y', 'DAPR-API-TOKEN', 'b', 'Dapr-Api-Tokens', 'z', 'dapr-api-token', 'c']
  const request = fakeRequest({ host: 'x', 'dapr-api-token': 'a, b, c', accept: 'y', 'dapr-api-tokens': 'z' }, raw)
  stripTokenHeader(request, 'dapr-api-token', 'Dapr-Api-Token', true)
  t.equal(request.raw.rawHeaders, raw, 'the same array: whoever holds it sees the token gone too')
  t.same(raw, ['Host', 'x', 'Accept', 'y', 'Dapr-Api-Tokens', 'z'])
  t.same(request.headers, { host: 'x', accept: 'y', 'dapr-api-tokens': 'z' })
  t.equal(sentMoreThanOnce(request, 'dapr-api-token'), false)
})

test('isHeaderName: a raw name matches in any ASCII case, and as toLowerCase folds anything else', async t => {
  for (const name of ['dapr-api-token', 'Dapr-Api-Token', 'DAPR-API-TOKEN', 'dApR-aPi-ToKeN']) t.equal(isHeaderName(name, 'dapr-api-token'), true, name)
  for (const name of ['Content-Length', 'dapr-api-tokem', 'dapr-api-toke', 'dapr-api-tokens', 'Dapr_Api_Token', '']) t.equal(isHeaderName(name, 'dapr-api-token'), false, name)
  // Only A-Z are folded: `[` is not `{`, and `@` is not a backquote, though each differs from the other by 0x20 alone.
  t.equal(isHeaderName('x[y', 'x{y'), false, '[ and {')
  t.equal(isHeaderName('x@y', 'x`y'), false, '@ and `')
  // Node keys its parsed headers by toLowerCase: the Kelvin sign (U+212A) lowers to `k`, so this name is the token header there too.
  t.equal(isHeaderName('Dapr-Api-To\u212Aen', 'dapr-api-token'), true, 'the Kelvin sign')
  t.equal(isHeaderName('Dapr-Api-Tok\u00e9n', 'dapr-api-token'), false, 'an accented letter is another name')
  t.equal(isHeaderName('Xapr-Api-To\u212Aen', 'dapr-api-token'), false, 'a differing ASCII letter first')
  t.equal(isHeaderName('\u212Aeep-Alive', 'keep-alive'), true, 'the Kelvin sign first')
  t.equal(isHeaderName('Dapr-Api-Tokex', 'dapr-api-token'), false, 'the same first letter, another name')
})

test('canonicalHeaderName spells a header as Go (and so daprd) sends it', async t => {
  t.equal(canonicalHeaderName('dapr-api-token'), 'Dapr-Api-Token')
  t.equal(canonicalHeaderName('x-internal-token'), 'X-Internal-Token')
  t.equal(canonicalHeaderName('authorization'), 'Authorization')
  t.equal(canonicalHeaderName('x-1a'), 'X-1a')
})

test('dropsHeaderLines: Node before 22 drops lines past maxHeadersCount, later versions answer 431', async t => {
  t.equal(dropsHeaderLines('20.20.2'), true)
  t.equal(dropsHeaderLines('21.7.3'), true)
  t.equal(dropsHeaderLines('22.0.0'), false)
  t.equal(dropsHeaderLines('24.11.1'), false)
})

test('atParserLimit: the socket parser\'s limit in entries, Node\'s 2000 without one, none for 0', async t => {
  const message = (socket: unknown): IncomingMessage => ({ socket }) as unknown as IncomingMessage
  t.equal(atParserLimit(message({ parser: { maxHeaderPairs: 62 } }), 62), true, 'reached')
  t.equal(atParserLimit(message({ parser: { maxHeaderPairs: 62 } }), 60), false, 'below')
  t.equal(atParserLimit(message({ parser: { maxHeaderPairs: 0 } }), 5000), false, 'no limit')
  t.equal(atParserLimit(message(null), 2000), true, 'no socket: Node\'s default limit')
  t.equal(atParserLimit(message({ parser: null }), 1998), false, 'no parser, below the default')
  // Once the client closed the connection (during an await before the check) the parser is gone.
  t.equal(atParserLimit(message({ parser: null, server: { maxHeadersCount: 31 } }), 62), true, 'no parser: the server\'s limit')
  t.equal(atParserLimit(message({ parser: null, server: { maxHeadersCount: 31 } }), 60), false, 'no parser: below the server\'s limit')
  t.equal(atParserLimit(message({ parser: null, server: { maxHeadersCount: null } }), 2000), true, 'no parser, the server sets none: Node\'s default')
})
