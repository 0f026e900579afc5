import { test, type Test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint, type DaprTokenAuthOptions } from '../lib/index.js'
import { dropsHeaderLines } from '../lib/extract.js'
import { connect } from 'node:net'
import { sendRaw } from './helpers/http.js'
import { DAPRD_REFUSAL, DUPLICATE, INVALID, MISSING, assertResponse, expectBoth, json, start, viaInject, viaSocket } from './helpers/exchange.js'

/** An app whose one route reports what the handler sees of the token header and the credential. */
async function echo (t: Test, options: DaprTokenAuthOptions) {
  const app = Fastify()
  await app.register(daprTokenAuth, options)
  app.get('/echo', async request => ({
    header: request.headers['dapr-api-token'] ?? null,
    raw: request.raw.rawHeaders.filter(value => value.toLowerCase() === 'dapr-api-token').length,
    distinct: (request.raw.headersDistinct as Record<string, string[]> | undefined)?.['dapr-api-token'] ?? null,
    credential: request.daprToken
  }))
  const port = await start(t, app)
  return { app, port }
}

function passed (token: string, index = 0, header: string | null = null, raw = 0, distinct: string[] | null = null) {
  return json({ header, raw, distinct, credential: { kind: 'static', index, fingerprint: fingerprint(token) } })
}

function rawGet (headerLines: string[]): string {
  return `GET /echo HTTP/1.1\r\nHost: x\r\n${headerLines.map(line => `${line}\r\n`).join('')}Connection: close\r\n\r\n`
}

test('surrounding whitespace around the header value is ignored, on the wire and under inject', async t => {
  const { app, port } = await echo(t, { token: 'tok' })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': ' \ttok \t' } }, passed('tok'))
  assertResponse(t, await sendRaw(port, rawGet(['dapr-api-token:    tok   '])), passed('tok'), 'raw spaces')
  assertResponse(t, await viaInject(app, { url: '/echo', headers: { 'dapr-api-token': 'tok ' } }), passed('tok'), 'inject, trailing space only')
})

test('an empty or blank header value counts as missing', async t => {
  const { app, port } = await echo(t, { token: 'tok' })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': '' } }, MISSING)
  assertResponse(t, await sendRaw(port, rawGet(['dapr-api-token:'])), MISSING, 'raw empty')
  assertResponse(t, await sendRaw(port, rawGet(['dapr-api-token:    '])), MISSING, 'raw blank')
  assertResponse(t, await viaInject(app, { url: '/echo', headers: { 'dapr-api-token': '  \t ' } }), MISSING, 'inject blank')
})

test('two header lines are refused even when one is valid, in both roles', async t => {
  const app = await echo(t, { token: 'tok' })
  assertResponse(t, await sendRaw(app.port, rawGet(['dapr-api-token: tok', 'dapr-api-token: tok'])), DUPLICATE, 'app, same twice')
  assertResponse(t, await sendRaw(app.port, rawGet(['dapr-api-token: tok', 'Dapr-Api-Token: nope'])), DUPLICATE, 'app, mixed case names')
  assertResponse(t, await sendRaw(app.port, rawGet(['dapr-api-token: tok', 'dapr-api-token:'])), DUPLICATE, 'app, one empty')
  const sidecar = await echo(t, { role: 'sidecar', token: 'tok' })
  assertResponse(t, await sendRaw(sidecar.port, rawGet(['dapr-api-token: tok', 'dapr-api-token: nope'])), DAPRD_REFUSAL, 'sidecar')
  assertResponse(t, await viaInject(sidecar.app, { url: '/echo', headers: { 'dapr-api-token': ['tok', 'tok'] } }), DAPRD_REFUSAL, 'sidecar, inject array')
})

test('a single-element header array under inject is one header line', async t => {
  const { app } = await echo(t, { token: 'tok' })
  assertResponse(t, await viaInject(app, { url: '/echo', headers: { 'dapr-api-token': ['tok'] } }), passed('tok'), 'inject [tok]')
})

test('a key containing ", " still refuses two lines that Node joins into that key', async t => {
  const { port } = await echo(t, { token: ['a, b', 'other'] })
  assertResponse(t, await sendRaw(port, rawGet(['dapr-api-token: a', 'dapr-api-token: b'])), DUPLICATE, 'joined lines spell the key')
  assertResponse(t, await sendRaw(port, rawGet(['dapr-api-token: a, b'])), passed('a, b'), 'the key on one line')
})

test('a non-ASCII token matches its UTF-8 bytes on the wire, and never an aliasing string', async t => {
  const token = 'clé-ключ-🔑'
  const { app, port } = await echo(t, { token })
  const utf8 = Buffer.concat([Buffer.from('GET /echo HTTP/1.1\r\nHost: x\r\ndapr-api-token: '), Buffer.from(token, 'utf8'), Buffer.from('\r\nConnection: close\r\n\r\n')])
  assertResponse(t, await sendRaw(port, utf8), passed(token), 'UTF-8 bytes')
  // The same characters as latin1 bytes are other bytes: refused.
  const latin1 = Buffer.concat([Buffer.from('GET /echo HTTP/1.1\r\nHost: x\r\ndapr-api-token: '), Buffer.from('clé', 'latin1'), Buffer.from('\r\nConnection: close\r\n\r\n')])
  assertResponse(t, await sendRaw(port, latin1), INVALID, 'latin1 bytes')
  // A header string that holds the key's bytes as latin1 code units is what a socket delivers: accepted.
  const asWire = Buffer.from(token, 'utf8').toString('latin1')
  assertResponse(t, await viaInject(app, { url: '/echo', headers: { 'dapr-api-token': asWire } }), passed(token), 'inject, wire form')
})

test('a string with code units above 0xff never matches, even where its low bytes spell the key', async t => {
  const { app } = await echo(t, { token: 'AB' })
  // U+0141 and U+0142 truncate to 0x41 0x42 ('AB') in a latin1 write.
  assertResponse(t, await viaInject(app, { url: '/echo', headers: { 'dapr-api-token': '\u0141\u0142' } }), INVALID, 'aliasing string')
})

test('a 10 KB token is accepted when configured and a 10 KB wrong one refused', async t => {
  const long = 'k'.repeat(10 * 1024)
  const { app, port } = await echo(t, { token: long })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': long } }, passed(long))
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': `${'k'.repeat(10 * 1024 - 1)}j` } }, INVALID)
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': `${long}k` } }, INVALID)
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': long.slice(1) } }, INVALID)
})

test('a 10 KB header against a short key is refused as invalid, not an error', async t => {
  const { app, port } = await echo(t, { token: 'short' })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 's'.repeat(10 * 1024) } }, INVALID)
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': `short${' x'.repeat(5000)}` } }, INVALID)
})

test('a prefix or extension of the key is refused', async t => {
  const { app, port } = await echo(t, { token: 'tok' })
  for (const presented of ['to', 'tokk', 'tok tok', 'TOK', 'tok\u0000']) {
    assertResponse(t, await viaInject(app, { url: '/echo', headers: { 'dapr-api-token': presented } }), INVALID, JSON.stringify(presented))
  }
  assertResponse(t, await viaSocket(port, { url: '/echo', headers: { 'dapr-api-token': 'tokk' } }), INVALID, 'socket tokk')
})

test('a token configured with a trailing newline (a Secret written with echo) still matches', async t => {
  const { app, port } = await echo(t, { token: 'from-secret\n' })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'from-secret' } }, passed('from-secret'))
  const crlf = await echo(t, { token: ['\t first \r\n', ' ', ''] })
  await expectBoth(t, crlf.app, crlf.port, { url: '/echo', headers: { 'dapr-api-token': 'first' } }, passed('first'))
})

test('every configured token is accepted, and request.daprToken names which one', async t => {
  const { app, port } = await echo(t, { token: ['new-token', 'old-token', 'older-token'] })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'new-token' } }, passed('new-token', 0))
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'old-token' } }, passed('old-token', 1))
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'older-token' } }, passed('older-token', 2))
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'oldest-token' } }, INVALID)
})

test('the same token listed twice matches its first position', async t => {
  const { app, port } = await echo(t, { token: ['same', 'same'] })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'same' } }, passed('same', 0))
})

test('the header is gone in the handler after success: headers, rawHeaders and headersDistinct', async t => {
  const { app, port } = await echo(t, { token: 'tok' })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'tok' } }, passed('tok'))
  assertResponse(t, await sendRaw(port, rawGet(['DAPR-API-TOKEN: tok'])), passed('tok'), 'upper-case header name')
})

test('stripHeader: false leaves the header for the handler', async t => {
  const { app, port } = await echo(t, { token: 'tok', stripHeader: false })
  const exchange = { url: '/echo', headers: { 'dapr-api-token': 'tok' } }
  assertResponse(t, await viaSocket(port, exchange), passed('tok', 0, 'tok', 1, ['tok']), 'socket')
  // inject's request has no headersDistinct.
  assertResponse(t, await viaInject(app, exchange), passed('tok', 0, 'tok', 1, null), 'inject')
})

test('request.raw.headersDistinct still works in the handler after the header is stripped (regression)', async t => {
  // Node builds headersDistinct lazily from rawHeaders with the count it parsed: removing the pair
  // without fixing the count made the first read throw, a 500 for the caller.
  const { port } = await echo(t, { token: 'tok' })
  const res = await sendRaw(port, rawGet(['x-one: 1', 'dapr-api-token: tok', 'x-two: 2', 'dapr-api-token: tok']
    .filter((_line, i) => i !== 3)))
  assertResponse(t, res, passed('tok'), 'token between other headers')
})

test('a headersDistinct built before the check loses the token too', async t => {
  const app = Fastify()
  app.addHook('onRequest', async request => { Reflect.get(request.raw, 'headersDistinct') })
  await app.register(daprTokenAuth, { token: 'tok' })
  app.get('/echo', async request => ({
    distinct: request.raw.headersDistinct['dapr-api-token'] ?? null,
    other: request.raw.headersDistinct['x-other'] ?? null
  }))
  const port = await start(t, app)
  assertResponse(t, await viaSocket(port, { url: '/echo', headers: { 'dapr-api-token': 'tok', 'x-other': 'kept' } }),
    json({ distinct: null, other: ['kept'] }), 'socket')
})

test('a custom header name is matched case-insensitively and stripped', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok', header: 'X-Internal-Token' })
  app.get('/echo', async request => ({ header: request.headers['x-internal-token'] ?? null, credential: request.daprToken }))
  const port = await start(t, app)
  const ok = json({ header: null, credential: { kind: 'static', index: 0, fingerprint: fingerprint('tok') } })
  await expectBoth(t, app, port, { url: '/echo', headers: { 'x-internal-token': 'tok' } }, ok)
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'tok' } }, MISSING)
})

/** An app whose routes report every raw header line the handler still sees, and Node's distinct view. */
async function rawEcho (t: Test, configure?: (app: ReturnType<typeof Fastify>) => void) {
  const app = Fastify()
  configure?.(app)
  await app.register(daprTokenAuth, { token: 'tok' })
  const report = async (request: { raw: { rawHeaders: string[], headersDistinct: Record<string, string[] | undefined> }, headers: Record<string, unknown> }) => ({
    raw: request.raw.rawHeaders,
    names: Object.keys(request.headers),
    distinct: request.raw.headersDistinct
  })
  app.get('/echo', report)
  app.get('/healthz', report)
  return await start(t, app)
}

function rawLines (path: string, headerLines: string[]): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\n${headerLines.map(line => `${line}\r\n`).join('')}Connection: close\r\n\r\n`
}

/** What the handler should see: the lines sent, the token's gone, in order. */
function seen (pairs: Array<[string, string]>) {
  const all: Array<[string, string]> = [['Host', 'x'], ...pairs, ['Connection', 'close']]
  const distinct: Record<string, string[]> = {}
  for (const [name, value] of all) (distinct[name.toLowerCase()] ??= []).push(value)
  return json({ raw: all.flat(), names: Object.keys(distinct), distinct })
}

test('the token line leaves rawHeaders wherever it sits and however its name is spelled, the other lines kept in order', async t => {
  const port = await rawEcho(t)
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['User-Agent: Go-http-client/1.1', 'Content-Type: application/json',
    'Dapr-Api-Token: tok', `Traceparent: ${traceparent}`, 'Accept-Encoding: gzip'])),
  seen([['User-Agent', 'Go-http-client/1.1'], ['Content-Type', 'application/json'], ['Traceparent', traceparent], ['Accept-Encoding', 'gzip']]),
  'as daprd sends it, between other headers')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['dapr-api-token: tok', 'X-A: 1'])), seen([['X-A', '1']]), 'lower case, first')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['X-A: 1', 'dApR-aPi-ToKeN: tok'])), seen([['X-A', '1']]), 'mixed case, last')
})

test('a header with the token\'s value, or named like it, is kept while the token line goes', async t => {
  const port = await rawEcho(t)
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['X-Copy: tok', 'Dapr-Api-Token: tok', 'X-After: tok'])),
    seen([['X-Copy', 'tok'], ['X-After', 'tok']]), 'the same value before and after it')
  // A numeric name is listed first among the parsed headers, so the token's place there is not its raw place.
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', '1: a'])),
    seen([['1', 'a']]), 'a numeric header name after it')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['tok: v', 'Dapr-Api-Token: tok', '1: a'])),
    seen([['tok', 'v'], ['1', 'a']]), 'a header named like the token\'s value before it')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['X-Copy: tok', 'Dapr-Api-Token: tok', '1: a'])),
    seen([['X-Copy', 'tok'], ['1', 'a']]), 'the same value before it, and a numeric header name after it')
})

test('on an exempt route two lines of the token header both leave rawHeaders and headersDistinct', async t => {
  const port = await rawEcho(t)
  assertResponse(t, await sendRaw(port, rawLines('/healthz', ['Dapr-Api-Token: tok', 'X-A: 1', 'dapr-api-token: tok'])),
    seen([['X-A', '1']]), 'Node joined them into one value no raw line carries')
})

// Node 20 keeps some header lines past the server's maxHeadersCount in rawHeaders only and drops
// others; Node 22 and later answer 431 before any hook runs.
const OVER_LIMIT = { skip: dropsHeaderLines(process.versions.node) ? false : 'Node 22 and later answer 431 past maxHeadersCount' }

test('past the server\'s maxHeadersCount every token line goes, and headersDistinct still lists what Node parsed', OVER_LIMIT, async t => {
  const port = await rawEcho(t, app => { app.server.maxHeadersCount = 3 })
  // Node parsed the first three lines only: Host, A and the token.
  assertResponse(t, await sendRaw(port, rawLines('/healthz', ['A: 1', 'Dapr-Api-Token: tok', 'B: 2', 'Dapr-Api-Token: other'])),
    json({ raw: ['Host', 'x', 'A', '1', 'B', '2', 'Connection', 'close'], names: ['host', 'a'], distinct: { host: ['x'], a: ['1'] } }),
    'exempt route: a second token line Node did not parse')
  assertResponse(t, await sendRaw(port, rawLines('/healthz', ['A: 1', 'B: 2', 'Dapr-Api-Token: tok'])),
    json({ raw: ['Host', 'x', 'A', '1', 'B', '2', 'Connection', 'close'], names: ['host', 'a', 'b'], distinct: { host: ['x'], a: ['1'], b: ['2'] } }),
    'exempt route: the only token line, one Node did not parse')
})

test('past the server\'s maxHeadersCount a token is refused as a possible duplicate, as Node 20 may drop a second line unseen', OVER_LIMIT, async t => {
  const port = await rawEcho(t, app => { app.server.maxHeadersCount = 3 })
  // Parsed: Host, the token and X-A; the lines after it are in rawHeaders only.
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', 'X-A: 1', 'Dapr-Api-Token: tok'])), DUPLICATE, 'the same token again')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', 'X-A: 1', 'Dapr-Api-Token: other'])), DUPLICATE, 'another value')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', 'X-A: 1', 'X-B: 2'])), DUPLICATE, 'one token line, other lines unparsed')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: wrong', 'X-A: 1', 'Dapr-Api-Token: tok'])), DUPLICATE, 'a wrong first line')
  // Node drops whole batches of lines past the limit: 40 filler lines, then a second token line.
  const filler = Array.from({ length: 40 }, (_, i) => `X-F${i}: v`)
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', ...filler, 'Dapr-Api-Token: other'])), DUPLICATE, 'a second line Node dropped')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok'])), DUPLICATE, 'exactly the limit: lines past it cannot be ruled out')
})

test('at a maxHeadersCount that Node 20\'s line batches fill exactly, a second token line it dropped is still refused', OVER_LIMIT, async t => {
  // Node 20 hands header lines over in batches of 31 and keeps whole batches until its store is full.
  const port = await rawEcho(t, app => { app.server.maxHeadersCount = 31 })
  const filler = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-F${i}: v`)
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', ...filler(200), 'Dapr-Api-Token: other'])), DUPLICATE, 'a second line in a dropped batch')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', ...filler(28)])), DUPLICATE, 'exactly 31 lines')
  const within = await sendRaw(port, rawLines('/echo', ['Dapr-Api-Token: tok', ...filler(27)]))
  t.equal(within.statusCode, 200, '30 lines: accepted')
  t.notOk(within.body.includes('Dapr-Api-Token'), '30 lines: the token line stripped')
})

test('a token at the header limit is still refused when the client closed the connection before the check (the parser is gone)', OVER_LIMIT, async t => {
  const app = Fastify()
  app.server.maxHeadersCount = 31
  let settle: (outcome: string) => void = () => {}
  const outcome = new Promise<string>(resolve => { settle = resolve })
  // An earlier hook that waits until the connection is closed, as a slow async hook or key resolver might.
  app.addHook('onRequest', async request => {
    const socket = request.raw.socket
    if (!socket.destroyed) await new Promise(resolve => socket.once('close', resolve))
  })
  await app.register(daprTokenAuth, { token: 'tok' })
  app.setErrorHandler(async error => { settle((error as { code?: string }).code ?? 'error') })
  app.get('/echo', async () => { settle('handled'); return 'ok' })
  const port = await start(t, app)
  const filler = Array.from({ length: 40 }, (_, i) => `X-F${i}: v\r\n`).join('')
  const socket = connect(port, '127.0.0.1', () => {
    // 31 lines reach the parser's limit; the second token line is in a batch Node drops.
    socket.end(`GET /echo HTTP/1.1\r\nHost: x\r\nDapr-Api-Token: tok\r\n${filler}Dapr-Api-Token: other\r\n\r\n`)
  })
  socket.on('error', () => {})
  socket.resume()
  t.equal(await outcome, 'FST_DAPR_TOKEN_DUPLICATE')
})

test('a key ending in "," is refused when spelled by a line and an empty line (Node joins them as "key, ")', async t => {
  const app = await echo(t, { token: ['abc,', 'other'] })
  assertResponse(t, await sendRaw(app.port, rawGet(['dapr-api-token: abc', 'dapr-api-token:'])), DUPLICATE, 'app role')
  assertResponse(t, await sendRaw(app.port, rawGet(['dapr-api-token: abc,'])), passed('abc,'), 'one line holding the key')
  const sidecar = await echo(t, { role: 'sidecar', token: 'abc,' })
  assertResponse(t, await sendRaw(sidecar.port, rawGet(['dapr-api-token: abc', 'dapr-api-token:'])), DAPRD_REFUSAL, 'sidecar role')
  const wrong = await echo(t, { token: 'other' })
  assertResponse(t, await sendRaw(wrong.port, rawGet(['dapr-api-token: abc', 'dapr-api-token:'])), DUPLICATE, 'a wrong key: the reason is still the duplicate')
})

test('a token an earlier hook copied into request.headers (Fastify\'s setter) leaves request.headers too', async t => {
  for (const [label, copy] of [['a copy with the token', true], ['a copy without it', false]] as const) {
    const app = Fastify()
    app.addHook('onRequest', (request, _reply, done) => {
      request.headers = copy ? { ...request.headers, 'x-tenant': 'acme' } : { 'x-tenant': 'acme' }
      done()
    })
    await app.register(daprTokenAuth, { token: 'tok' })
    app.get('/echo', async request => ({ token: request.headers['dapr-api-token'] ?? null, listed: 'dapr-api-token' in request.headers, tenant: request.headers['x-tenant'] }))
    const port = await start(t, app)
    t.comment(label)
    await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'tok' } }, json({ token: null, listed: false, tenant: 'acme' }))
  }
})

test('with Cookie as the token header, two lines Node joins by "; " are refused as a duplicate', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: ['a; b', 'c'], header: 'cookie' })
  app.get('/echo', async request => ({ cookie: request.headers.cookie ?? null }))
  const port = await start(t, app)
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Cookie: a', 'Cookie: b'])), DUPLICATE, 'joined into a key')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Cookie: c', 'Cookie: d'])), DUPLICATE, 'joined into no key')
  assertResponse(t, await sendRaw(port, rawLines('/echo', ['Cookie: a; b'])), json({ cookie: null }), 'one line holding the key')
})

test('the stripped headers object is a plain object, as Node\'s is', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok' })
  app.get('/echo', async request => ({
    plain: Object.getPrototypeOf(request.headers) === Object.prototype && request.headers.constructor === Object,
    token: Object.getOwnPropertyNames(request.headers).includes('dapr-api-token'),
    other: request.headers['x-a']
  }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/echo', headers: { 'dapr-api-token': 'tok', 'x-a': '1' } },
    json({ plain: true, token: false, other: '1' }))
})
