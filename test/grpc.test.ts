import { once } from 'node:events'
import { connect, type Http2ServerRequest } from 'node:http2'
import { Writable } from 'node:stream'
import { test } from 'tap'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import daprTokenAuth, { DaprTokenMissingError, fingerprint, replyDaprTokenGrpcError, signDaprJwt } from '../lib/index.js'
import { GRPC_DETAIL_MISMATCH, GRPC_DETAIL_MISSING } from '../lib/grpc.js'
import { listen, send } from './helpers/http.js'
import { callHello, frame, greeterApp, h2Request, HELLO_PATH, statusOf, type DecodedStatus } from './helpers/grpc.js'

const TOKEN = 's3cret'

/** What daprd's refusal decodes to, for a detail. */
function daprdStatus (detail: string): DecodedStatus {
  return {
    code: 16,
    message: 'Unauthorized',
    details: [{
      typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo',
      info: { reason: 'Unauthorized', domain: 'dapr.io', metadata: { 'http.code': '401', 'http.error_message': detail } }
    }]
  }
}

test('a gRPC client without the token metadata gets UNAUTHENTICATED with daprd\'s missing detail', async t => {
  const { app, seen } = await greeterApp({ token: TOKEN })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error, message } = await callHello(port, [])
  t.equal(message, undefined)
  t.ok(error)
  t.equal(error?.code, 16)
  t.equal(error?.details, 'Unauthorized')
  t.same(statusOf(error!), daprdStatus(GRPC_DETAIL_MISSING))
  t.same(seen, [], 'the handler never ran')
})

test('a gRPC client with a wrong token gets UNAUTHENTICATED with daprd\'s mismatch detail', async t => {
  const { app, seen } = await greeterApp({ token: TOKEN })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error } = await callHello(port, [['dapr-api-token', 'nope']])
  t.equal(error?.code, 16)
  t.equal(error?.details, 'Unauthorized')
  t.same(statusOf(error!), daprdStatus(GRPC_DETAIL_MISMATCH))
  t.same(seen, [])
})

test('a gRPC client with the right token is served, and the handler does not see the token', async t => {
  const { app, seen } = await greeterApp({ token: ['new-one', TOKEN] })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error, message } = await callHello(port, [['dapr-api-token', TOKEN]], HELLO_PATH, 'sidecar')
  t.equal(error, null)
  t.equal(message, 'hello sidecar')
  t.same(seen, [{ token: undefined, rawToken: false, credential: { kind: 'static', index: 1, fingerprint: fingerprint(TOKEN) } }])
})

test('stripHeader: false leaves the token metadata for the gRPC handler', async t => {
  const { app, seen } = await greeterApp({ token: TOKEN, stripHeader: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  t.equal((await callHello(port, [['dapr-api-token', TOKEN]])).message, 'hello dapr')
  t.equal(seen[0]?.token, TOKEN)
  t.equal(seen[0]?.rawToken, true)
})

test('the token metadata sent twice is refused with the mismatch detail, and logged as a duplicate', async t => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, next) { lines.push(JSON.parse(String(chunk))); next() } })
  const { app, seen } = await greeterApp({ token: TOKEN }, undefined, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error } = await callHello(port, [['dapr-api-token', TOKEN], ['dapr-api-token', TOKEN]])
  t.equal(error?.code, 16)
  t.same(statusOf(error!), daprdStatus(GRPC_DETAIL_MISMATCH))
  t.same(seen, [])
  const refusals = lines.filter(line => line.msg === 'Dapr API token refused')
  t.same(refusals.map(line => line.daprTokenAuth), [{ reason: 'duplicate' }])
  t.notOk(JSON.stringify(lines).includes(TOKEN), 'no log line carries the token')
  t.same(lines.filter(line => (line.level as number) >= 40), [], 'no warning or error from answering on the stream')
})

test('gRPC refusals are logged with their reason, like HTTP ones', async t => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, next) { lines.push(JSON.parse(String(chunk))); next() } })
  const { app } = await greeterApp({ token: TOKEN, logLevel: 'warn' }, undefined, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  await callHello(port, [])
  await callHello(port, [['dapr-api-token', 'wrong']])
  const refusals = lines.filter(line => line.msg === 'Dapr API token refused')
  t.same(refusals.map(line => [line.level, line.daprTokenAuth]), [[40, { reason: 'missing' }], [40, { reason: 'invalid' }]])
})

test('every errorResponse mode and role refuses a gRPC call in gRPC form', async t => {
  const fastifyJson = '{"statusCode":401,"code":"FST_DAPR_TOKEN_MISSING","error":"Unauthorized","message":"Missing Dapr API token"}'
  const variants = [
    { options: { role: 'app' as const }, http: fastifyJson },
    { options: { role: 'app' as const, errorResponse: 'daprd' as const }, http: 'invalid api token\n' },
    { options: { role: 'sidecar' as const }, http: 'invalid api token\n' },
    { options: { role: 'sidecar' as const, errorResponse: 'fastify' as const }, http: fastifyJson },
    { options: { errorResponse: () => ({ custom: true }) }, http: '{"custom":true}' }
  ]
  for (const { options, http } of variants) {
    const { app } = await greeterApp({ token: TOKEN, ...options })
    const { port } = await listen(app)
    const missing = await callHello(port, [])
    const wrong = await callHello(port, [['dapr-api-token', 'wrong']])
    const plain = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/json' }, Buffer.from('{}'))
    await app.close()
    const name = JSON.stringify(options)
    t.same(statusOf(missing.error!), daprdStatus(GRPC_DETAIL_MISSING), name)
    t.same(statusOf(wrong.error!), daprdStatus(GRPC_DETAIL_MISMATCH), name)
    t.equal(plain.headers[':status'], 401, `${name}: HTTP refusals keep their form`)
    t.equal(plain.body.toString(), http, name)
  }
})

test('a gRPC refusal is one HEADERS frame ending the stream: status 200, grpc-status 16, no body', async t => {
  const { app } = await greeterApp({ token: TOKEN })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const response = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/grpc+proto', te: 'trailers' }, frame(Buffer.alloc(0)))
  t.equal(response.endStream, true, 'trailers-only: END_STREAM on the headers')
  t.equal(response.headers[':status'], 200)
  t.equal(response.headers['content-type'], 'application/grpc+proto', 'the codec is echoed')
  t.equal(response.headers['grpc-status'], '16')
  t.equal(response.headers['grpc-message'], 'Unauthorized')
  t.equal(typeof response.headers['grpc-status-details-bin'], 'string')
  t.notOk(String(response.headers['grpc-status-details-bin']).endsWith('='), 'binary metadata is unpadded base64')
  t.equal(response.body.length, 0)
  t.equal(response.trailers, undefined)
})

test('exempt routes stay open to gRPC calls without a token', async t => {
  const { app, seen } = await greeterApp({ token: TOKEN, exempt: [`POST ${HELLO_PATH}`] })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  t.equal((await callHello(port, [], '/test.Open/Hello')).message, 'hello dapr', 'config: { daprTokenAuth: false }')
  t.equal((await callHello(port, [])).message, 'hello dapr', 'exempt option')
  t.equal((await callHello(port, [['dapr-api-token', 'wrong']])).message, 'hello dapr', 'a wrong token on an exempt route is ignored, as on HTTP')
  t.same(seen.map(call => call.credential), [null, null, null])
})

test('an unknown gRPC method without a token is refused before any 404, as daprd does', async t => {
  const { app } = await greeterApp({ token: TOKEN })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error } = await callHello(port, [], '/test.Nope/Missing')
  t.equal(error?.code, 16)
  t.same(statusOf(error!), daprdStatus(GRPC_DETAIL_MISSING))
})

test('key resolvers decide gRPC calls too, synchronously or not', async t => {
  let tokens: string[] = ['first']
  const { app } = await greeterApp({ keyResolver: async () => tokens })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  t.equal((await callHello(port, [['dapr-api-token', 'first']])).message, 'hello dapr')
  tokens = ['second']
  const refused = await callHello(port, [['dapr-api-token', 'first']])
  t.same(statusOf(refused.error!), daprdStatus(GRPC_DETAIL_MISMATCH))
  t.equal((await callHello(port, [['dapr-api-token', 'second']])).message, 'hello dapr')
})

test('a key source failure reaches a gRPC client as INTERNAL with the public message only', async t => {
  const { app } = await greeterApp({ keyResolver: () => { throw new Error('vault at 10.0.0.7 said no') } }, undefined, { logger: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error } = await callHello(port, [['dapr-api-token', TOKEN]])
  t.equal(error?.code, 13)
  t.equal(error?.details, 'Dapr API token verification is unavailable')
  t.same(error?.metadata.get('grpc-status-details-bin'), [])
})

test('a key source that reports itself unavailable (503) reaches a gRPC client as UNAVAILABLE', async t => {
  const outage = Object.assign(new Error('Dapr API token keys are unavailable: 100% down'), { statusCode: 503, code: 'FST_DAPR_TOKEN_TEST_UNAVAILABLE' })
  const { app } = await greeterApp({ keyResolver: async () => { throw outage } }, undefined, { logger: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const { error } = await callHello(port, [['dapr-api-token', TOKEN]])
  t.equal(error?.code, 14)
  t.equal(error?.details, 'Dapr API token keys are unavailable: 100% down', 'percent-encoded on the wire, decoded by the client')
  const raw = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/grpc', 'dapr-api-token': TOKEN })
  t.equal(raw.headers['grpc-message'], 'Dapr API token keys are unavailable: 100%25 down')
  t.equal(raw.endStream, true)
})

test('a gRPC call cancelled while an async resolver runs is dropped without an answer or an error', async t => {
  let resolverCalled!: () => void
  const called = new Promise<void>(resolve => { resolverCalled = resolve })
  let first = true
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, next) { lines.push(JSON.parse(String(chunk))); next() } })
  const { app } = await greeterApp({
    keyResolver: async request => {
      if (first) {
        // Answer the first call only once the server has seen its client go away.
        first = false
        resolverCalled()
        await once((request.raw as unknown as Http2ServerRequest).stream, 'close')
      }
      return 'other'
    }
  }, undefined, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const session = connect(`http://127.0.0.1:${port}`)
  t.teardown(() => session.close())
  const request = session.request({ ':method': 'POST', ':path': HELLO_PATH, 'content-type': 'application/grpc', 'dapr-api-token': TOKEN })
  let answered = false
  request.on('response', () => { answered = true })
  request.on('error', () => {})
  request.end()
  await called
  request.close()
  await once(request, 'close')
  // Bounded wait for the refusal's log line, which comes right before the (skipped) answer.
  for (let i = 0; i < 100 && !lines.some(line => line.msg === 'Dapr API token refused'); i++) {
    await new Promise(resolve => setImmediate(resolve))
  }
  t.ok(lines.some(line => line.msg === 'Dapr API token refused'))
  t.notOk(lines.some(line => (line.level as number) >= 50), 'nothing logged at error')
  t.equal(answered, false)
  t.equal((await callHello(port, [['dapr-api-token', 'other']])).message, 'hello dapr', 'the server carries on')
})

test('with gRPC answers off, or on an exempt route, a key source failure behaves as for HTTP', async t => {
  const { app, seen } = await greeterApp({ keyResolver: () => { throw new Error('down') }, grpc: false }, app => {
    app.post('/test.Guarded/Hello', { onRequest: app.verifyDaprToken }, async () => 'never')
  }, { logger: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const off = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/grpc', 'dapr-api-token': TOKEN })
  t.equal(off.headers[':status'], 500)
  t.equal(JSON.parse(off.body.toString()).code, 'FST_DAPR_TOKEN_RESOLVER_FAILED')
  t.equal((await callHello(port, [['dapr-api-token', TOKEN]], '/test.Open/Hello')).message, 'hello dapr', 'exempt: served')
  t.equal(seen.length, 1)
})

test('fastify.verifyDaprToken hands a key source failure on a gRPC call to the error handler', async t => {
  const { app } = await greeterApp({ keyResolver: () => { throw new Error('down') }, addHook: false }, app => {
    app.post('/test.Guarded/Hello', { onRequest: app.verifyDaprToken }, async () => 'never')
  }, { logger: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const response = await h2Request(port, { ':path': '/test.Guarded/Hello', 'content-type': 'application/grpc', 'dapr-api-token': TOKEN })
  t.equal(response.headers[':status'], 500)
  t.equal(JSON.parse(response.body.toString()).code, 'FST_DAPR_TOKEN_RESOLVER_FAILED')
})

test('over HTTP/2, other content types still get the configured HTTP refusal', async t => {
  const { app } = await greeterApp({ token: TOKEN })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const json = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/json' }, Buffer.from('{}'))
  t.equal(json.headers[':status'], 401)
  t.same(JSON.parse(json.body.toString()), { statusCode: 401, code: 'FST_DAPR_TOKEN_MISSING', error: 'Unauthorized', message: 'Missing Dapr API token' })
  t.equal(json.headers['grpc-status'], undefined)

  for (const contentType of ['application/grpcx', 'application/grpc-web+proto', 'application/connect+proto', 'text/plain']) {
    const other = await h2Request(port, { ':path': HELLO_PATH, 'content-type': contentType })
    t.equal(other.headers[':status'], 401, contentType)
    t.equal(other.headers['grpc-status'], undefined, contentType)
  }
})

test('over HTTP/1.1 nothing changes, even with a gRPC content type', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: TOKEN, role: 'sidecar' })
  app.post(HELLO_PATH, async () => 'ok')
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const response = await send(port, 'POST', HELLO_PATH, { 'content-type': 'application/grpc' })
  t.equal(response.statusCode, 401)
  t.equal(response.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(response.body, 'invalid api token\n')
  t.equal(response.headers['grpc-status'], undefined)
})

test('grpc: false answers gRPC calls with the HTTP refusal', async t => {
  const { app } = await greeterApp({ token: TOKEN, grpc: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const response = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/grpc' })
  t.equal(response.headers[':status'], 401)
  t.equal(response.headers['grpc-status'], undefined)
  t.equal(JSON.parse(response.body.toString()).code, 'FST_DAPR_TOKEN_MISSING')
})

test('fastify.verifyDaprToken never replies, so a gRPC call it refuses reaches the error handler', async t => {
  const { app } = await greeterApp({ token: TOKEN, addHook: false }, app => {
    app.post('/test.Guarded/Hello', { onRequest: app.verifyDaprToken }, async () => 'never')
  })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const response = await h2Request(port, { ':path': '/test.Guarded/Hello', 'content-type': 'application/grpc' })
  t.equal(response.headers[':status'], 401)
  t.equal(JSON.parse(response.body.toString()).code, 'FST_DAPR_TOKEN_MISSING')
})

test('replyDaprTokenGrpcError lets an error handler behind verifyDaprToken answer gRPC calls as the hook does', async t => {
  let fail = false
  const { app, seen } = await greeterApp({ keyResolver: () => { if (fail) throw new Error('down'); return TOKEN }, addHook: false }, app => {
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url.startsWith('/test.Greeter/')) return app.verifyDaprToken(request, reply, done)
      done()
    })
    app.post('/test.Broken/Hello', async () => { throw Object.assign(new Error('boom'), { statusCode: 400 }) })
    app.post('/json', async () => 'never')
    app.setErrorHandler((error: Error & { statusCode?: number, code?: string }, request, reply) => {
      if (replyDaprTokenGrpcError(request, reply, error)) return
      reply.code(error.statusCode ?? 500).send({ handled: error.code ?? error.message })
    })
  }, { logger: false })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  t.same(statusOf((await callHello(port, [])).error!), daprdStatus(GRPC_DETAIL_MISSING))
  t.same(statusOf((await callHello(port, [['dapr-api-token', 'wrong']])).error!), daprdStatus(GRPC_DETAIL_MISMATCH))
  t.equal((await callHello(port, [['dapr-api-token', TOKEN]])).message, 'hello dapr')
  t.equal(seen.length, 1)
  fail = true
  const failure = await callHello(port, [['dapr-api-token', TOKEN]])
  t.equal(failure.error?.code, 13)
  t.equal(failure.error?.details, 'Dapr API token verification is unavailable')

  const http = await h2Request(port, { ':path': HELLO_PATH, 'content-type': 'application/json' }, Buffer.from('{}'))
  t.equal(http.headers[':status'], 401, 'not a gRPC call: left to the handler')
  t.same(JSON.parse(http.body.toString()), { handled: 'FST_DAPR_TOKEN_MISSING' })
  const other = await h2Request(port, { ':path': '/test.Broken/Hello', 'content-type': 'application/grpc' }, frame(Buffer.alloc(0)))
  t.equal(other.headers[':status'], 400, 'not our error: left to the handler')
  t.same(JSON.parse(other.body.toString()), { handled: 'boom' })
})

test('replyDaprTokenGrpcError declines what it cannot answer and rejects a bad option', async t => {
  const request = { headers: { 'content-type': 'application/grpc' }, raw: { httpVersionMajor: 2 } } as unknown as FastifyRequest
  const reply = {} as FastifyReply
  const refusal = new DaprTokenMissingError()
  t.equal(replyDaprTokenGrpcError(request, reply, refusal, false), false, 'grpc: false')
  t.equal(replyDaprTokenGrpcError(request, reply, null), false)
  t.equal(replyDaprTokenGrpcError(request, reply, 'FST_DAPR_TOKEN_MISSING'), false)
  t.equal(replyDaprTokenGrpcError(request, reply, { code: 'FST_DAPR_TOKEN_MISSING', message: 'no status' }), false)
  t.equal(replyDaprTokenGrpcError(request, reply, { code: 'FST_DAPR_TOKEN_MISSING', statusCode: 401 }), false, 'no message')
  t.equal(replyDaprTokenGrpcError(request, reply, { code: 42, statusCode: 401, message: 'x' }), false)
  t.throws(() => replyDaprTokenGrpcError(request, reply, refusal, { web: 'yes' } as unknown as boolean),
    new TypeError('replyDaprTokenGrpcError: `grpc.web` must be true or false'))
})

test('JWT mode over gRPC: a valid JWT is served with its claims, every JWT refusal is daprd\'s mismatch', async t => {
  const secret = 'grpc-test-hmac-secret-of-32-bytes-at-least!'
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, next) { lines.push(JSON.parse(String(chunk))); next() } })
  const { app, seen } = await greeterApp({ jwt: { key: secret, algorithms: ['HS256'], issuer: 'dapr' } }, undefined, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const valid = signDaprJwt({ app: 'orders' }, { key: secret, issuer: 'dapr' })
  t.equal((await callHello(port, [['dapr-api-token', valid]])).message, 'hello dapr')
  t.match(seen, [{ token: undefined, rawToken: false, credential: { kind: 'jwt', claims: { app: 'orders', iss: 'dapr' } } }])

  const refused = [
    signDaprJwt({}, { key: secret, issuer: 'someone-else' }),
    signDaprJwt({}, { key: 'another-secret-that-is-long-enough-too!!', issuer: 'dapr' }),
    signDaprJwt({}, { key: secret, issuer: 'dapr', expiresIn: -60 }),
    'not.a.jwt'
  ]
  for (const token of refused) {
    const { error } = await callHello(port, [['dapr-api-token', token]])
    t.equal(error?.code, 16)
    t.same(statusOf(error!), daprdStatus(GRPC_DETAIL_MISMATCH))
  }
  t.same(statusOf((await callHello(port, [])).error!), daprdStatus(GRPC_DETAIL_MISSING))
  t.equal(seen.length, 1)
  const reasons = lines.filter(line => line.msg === 'Dapr API token refused').map(line => (line.daprTokenAuth as { reason: string }).reason)
  t.equal(reasons.length, 5)
  t.equal(reasons.at(-1), 'missing')
  t.notOk(reasons.slice(0, 4).includes('missing'), 'JWT reasons are logged as such')
})
