import { test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect'
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node'
import { Dapr, GetMetadataRequestSchema } from '@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb'
import { create } from '@bufbuild/protobuf'
import daprTokenAuth, { type DaprTokenAuthOptions } from '../lib/index.js'
import { GRPC_DETAIL_MISMATCH, GRPC_DETAIL_MISSING, grpcRefusalFor, percentEncodeGrpcMessage } from '../lib/grpc.js'
import { listen, send } from './helpers/http.js'
import { decodeErrorInfo, decodeStatus } from './helpers/grpc.js'

const TOKEN = 's3cret'
const METHOD = '/dapr.proto.runtime.v1.Dapr/GetMetadata'

/** An HTTP/1.1 Fastify whose every route would answer 200: only the plugin can refuse. */
async function server (options: DaprTokenAuthOptions): Promise<{ app: FastifyInstance, port: number, url: string }> {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: TOKEN, ...options })
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
  app.all('/*', async () => 'reached')
  const { port, url } = await listen(app)
  return { app, port, url }
}

/** The ErrorInfo detail a client-side ConnectError carries, decoded. */
function errorInfoOf (error: ConnectError): ReturnType<typeof decodeErrorInfo> {
  const [detail] = error.details
  if (detail === undefined || !('type' in detail) || detail.type !== 'google.rpc.ErrorInfo') throw new Error('no ErrorInfo detail')
  return decodeErrorInfo(detail.value)
}

async function refusedBy (transport: Transport, token?: string): Promise<ConnectError> {
  const client = createClient(Dapr, transport)
  const headers = token === undefined ? {} : { 'dapr-api-token': token }
  try {
    await client.getMetadata(create(GetMetadataRequestSchema), { headers })
  } catch (error) {
    return ConnectError.from(error)
  }
  throw new Error('the call was not refused')
}

test('gRPC-Web (opt-in) over HTTP/1.1: a trailers-only answer in headers, read by a real gRPC-Web client', async t => {
  const { app, port, url } = await server({ grpc: { web: true } })
  t.teardown(() => app.close())

  const response = await send(port, 'POST', METHOD, { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' }, '\u0000\u0000\u0000\u0000\u0000')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'application/grpc-web+proto')
  t.equal(response.headers['grpc-status'], '16')
  t.equal(response.headers['grpc-message'], 'Unauthorized')
  t.equal(response.body, '')
  const status = decodeStatus(Buffer.from(String(response.headers['grpc-status-details-bin']), 'base64'))
  t.equal(status.code, 16)
  t.same(status.details[0]?.info.metadata, { 'http.code': '401', 'http.error_message': GRPC_DETAIL_MISSING })

  const text = await send(port, 'POST', METHOD, { 'content-type': 'application/grpc-web-text' })
  t.equal(text.headers['content-type'], 'application/grpc-web-text')
  t.equal(text.headers['grpc-status'], '16')

  const transport = createGrpcWebTransport({ baseUrl: url, httpVersion: '1.1' })
  const missing = await refusedBy(transport)
  t.equal(missing.code, Code.Unauthenticated)
  t.equal(missing.rawMessage, 'Unauthorized')
  t.same(errorInfoOf(missing), { reason: 'Unauthorized', domain: 'dapr.io', metadata: { 'http.code': '401', 'http.error_message': GRPC_DETAIL_MISSING } })
  const wrong = await refusedBy(transport, 'wrong')
  t.equal(wrong.code, Code.Unauthenticated)
  t.equal(errorInfoOf(wrong).metadata['http.error_message'], GRPC_DETAIL_MISMATCH)
})

test('Connect unary (opt-in): 401 with Connect\'s JSON error, read by a real Connect client', async t => {
  const { app, port, url } = await server({ grpc: { connect: true } })
  t.teardown(() => app.close())

  const response = await send(port, 'POST', METHOD, { 'content-type': 'application/proto', 'connect-protocol-version': '1' }, '')
  t.equal(response.statusCode, 401)
  t.equal(response.headers['content-type'], 'application/json')
  const body = JSON.parse(response.body)
  t.same(Object.keys(body), ['code', 'message', 'details'])
  t.equal(body.code, 'unauthenticated')
  t.equal(body.message, 'Unauthorized')
  t.equal(body.details[0].type, 'google.rpc.ErrorInfo')
  t.notOk(body.details[0].value.endsWith('='), 'unpadded base64, as Connect writes it')
  t.same(decodeErrorInfo(Buffer.from(body.details[0].value, 'base64')).metadata, { 'http.code': '401', 'http.error_message': GRPC_DETAIL_MISSING })

  const transport = createConnectTransport({ baseUrl: url, httpVersion: '1.1' })
  const missing = await refusedBy(transport)
  t.equal(missing.code, Code.Unauthenticated)
  t.equal(missing.rawMessage, 'Unauthorized')
  t.equal(errorInfoOf(missing).metadata['http.error_message'], GRPC_DETAIL_MISSING)
  const wrong = await refusedBy(transport, 'wrong')
  t.equal(errorInfoOf(wrong).metadata['http.error_message'], GRPC_DETAIL_MISMATCH)

  const json = await send(port, 'POST', METHOD, { 'content-type': 'application/json', 'connect-protocol-version': '1', 'dapr-api-token': 'x' }, '{}')
  t.equal(json.statusCode, 401)
  t.equal(JSON.parse(json.body).code, 'unauthenticated')
})

test('Connect GET (opt-in): ?connect=v1 is recognised without the version header', async t => {
  const { app, port } = await server({ grpc: { connect: true } })
  t.teardown(() => app.close())

  const get = await send(port, 'GET', `${METHOD}?connect=v1&encoding=json&message=%7B%7D`)
  t.equal(get.statusCode, 401)
  t.equal(JSON.parse(get.body).code, 'unauthenticated')

  const plain = await send(port, 'GET', `${METHOD}?connect=v2`)
  t.equal(plain.statusCode, 401)
  t.equal(JSON.parse(plain.body).code, 'FST_DAPR_TOKEN_MISSING', 'not Connect: the configured HTTP refusal')
  const post = await send(port, 'POST', `${METHOD}?connect=v1`, { 'content-type': 'application/json' }, '{}')
  t.equal(JSON.parse(post.body).code, 'FST_DAPR_TOKEN_MISSING', 'the query form is GET only')
})

test('Connect streaming (opt-in): HTTP 200 and an end-of-stream message carrying the error', async t => {
  const { app, port, url } = await server({ grpc: { connect: true } })
  t.teardown(() => app.close())

  const response = await send(port, 'POST', '/dapr.proto.runtime.v1.Dapr/SubscribeConfiguration', { 'content-type': 'application/connect+json', 'dapr-api-token': 'no' }, '')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'application/connect+json')
  const bytes = Buffer.from(response.body, 'latin1')
  t.equal(bytes[0], 0x02, 'end-stream flag')
  t.equal(bytes.readUInt32BE(1), bytes.length - 5)
  const end = JSON.parse(bytes.subarray(5).toString('utf8'))
  t.equal(end.error.code, 'unauthenticated')
  t.equal(end.error.message, 'Unauthorized')
  t.same(decodeErrorInfo(Buffer.from(end.error.details[0].value, 'base64')).metadata['http.error_message'], GRPC_DETAIL_MISMATCH)

  const client = createClient(Dapr, createConnectTransport({ baseUrl: url, httpVersion: '1.1' }))
  const received: unknown[] = []
  const refused = await (async () => {
    try {
      for await (const message of client.subscribeConfiguration({ storeName: 'x', keys: [] })) received.push(message)
    } catch (error) {
      return ConnectError.from(error)
    }
    throw new Error('the stream was not refused')
  })()
  t.same(received, [])
  t.equal(refused.code, Code.Unauthenticated)
  t.equal(errorInfoOf(refused).metadata['http.error_message'], GRPC_DETAIL_MISSING)
})

test('gRPC-Web and Connect are HTTP calls unless the option asks', async t => {
  const { app, port } = await server({})
  t.teardown(() => app.close())

  for (const headers of [
    { 'content-type': 'application/grpc-web+proto' },
    { 'content-type': 'application/connect+proto' },
    { 'content-type': 'application/json', 'connect-protocol-version': '1' }
  ]) {
    const response = await send(port, 'POST', METHOD, headers, '')
    t.equal(response.statusCode, 401)
    t.equal(JSON.parse(response.body).code, 'FST_DAPR_TOKEN_MISSING', headers['content-type'])
    t.equal(response.headers['grpc-status'], undefined)
  }
  t.equal((await send(port, 'POST', METHOD, { 'content-type': 'application/json', 'dapr-api-token': TOKEN }, '{}')).body, 'reached')
})

test('a key source failure reaches gRPC-Web and Connect clients in their own format', async t => {
  const outage = Object.assign(new Error('keys unavailable'), { statusCode: 503, code: 'FST_DAPR_TOKEN_TEST_UNAVAILABLE' })
  let failure: Error = new Error('internal detail 10.1.2.3')
  const app = Fastify({ logger: false })
  await app.register(daprTokenAuth, { keyResolver: () => { throw failure }, grpc: { web: true, connect: true } })
  app.all('/*', async () => 'reached')
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const web = await send(port, 'POST', METHOD, { 'content-type': 'application/grpc-web', 'dapr-api-token': 'x' })
  t.equal(web.statusCode, 200)
  t.equal(web.headers['grpc-status'], '13')
  t.equal(web.headers['grpc-message'], 'Dapr API token verification is unavailable')
  t.equal(web.headers['grpc-status-details-bin'], undefined)

  const unary = await send(port, 'POST', METHOD, { 'content-type': 'application/json', 'connect-protocol-version': '1', 'dapr-api-token': 'x' }, '{}')
  t.equal(unary.statusCode, 500)
  t.equal(unary.headers['content-type'], 'application/json')
  t.same(JSON.parse(unary.body), { code: 'internal', message: 'Dapr API token verification is unavailable' })

  failure = outage
  const stream = await send(port, 'POST', METHOD, { 'content-type': 'application/connect+proto', 'dapr-api-token': 'x' })
  t.equal(stream.statusCode, 200)
  const bytes = Buffer.from(stream.body, 'latin1')
  t.equal(bytes[0], 0x02)
  t.same(JSON.parse(bytes.subarray(5).toString()), { error: { code: 'unavailable', message: 'keys unavailable' } })
  const unavailable = await send(port, 'POST', METHOD, { 'content-type': 'application/proto', 'connect-protocol-version': '1', 'dapr-api-token': 'x' })
  t.equal(unavailable.statusCode, 503)
  t.same(JSON.parse(unavailable.body), { code: 'unavailable', message: 'keys unavailable' })
  const web503 = await send(port, 'POST', METHOD, { 'content-type': 'application/grpc-web+proto', 'dapr-api-token': 'x' })
  t.equal(web503.headers['grpc-status'], '14')

  failure = new Error('internal detail 10.1.2.3')
  const http = await send(port, 'POST', METHOD, { 'content-type': 'application/json', 'dapr-api-token': 'x' }, '{}')
  t.equal(http.statusCode, 500, 'a plain HTTP call still gets the error handler\'s answer')
  t.same(JSON.parse(http.body), { statusCode: 500, code: 'FST_DAPR_TOKEN_RESOLVER_FAILED', error: 'Internal Server Error', message: 'Dapr API token verification is unavailable' })
})

test('gRPC content types are matched case-insensitively, with parameters, codec echoed', async t => {
  const { app, port } = await server({ grpc: { web: true } })
  t.teardown(() => app.close())

  const upper = await send(port, 'POST', METHOD, { 'content-type': 'Application/GRPC-Web+PROTO; charset=utf-8' })
  t.equal(upper.headers['content-type'], 'application/grpc-web+proto')
  t.equal(upper.headers['grpc-status'], '16')
  const weird = await send(port, 'POST', METHOD, { 'content-type': 'application/grpc-web+<script>' })
  t.equal(weird.statusCode, 401, 'an invalid codec is not gRPC-Web')
})

test('the grpc option is validated at registration', async t => {
  for (const [grpc, message] of [
    ['yes', '`grpc` must be true, false or an object { web?: boolean, connect?: boolean }'],
    [null, '`grpc` must be true, false or an object { web?: boolean, connect?: boolean }'],
    [[], '`grpc` must be true, false or an object { web?: boolean, connect?: boolean }'],
    [{ web: 'yes' }, '`grpc.web` must be true or false'],
    [{ connect: 1 }, '`grpc.connect` must be true or false'],
    [{ webb: true }, '`grpc` has no option "webb": use `web` or `connect`']
  ] as const) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(daprTokenAuth, { token: TOKEN, grpc: grpc as unknown as boolean }) }, { code: 'FST_DAPR_TOKEN_OPTIONS', message: `Invalid fastify-dapr-token-auth options: ${message}` }, JSON.stringify(grpc))
    // Never booted (the plugin threw), so there is no server to close.
  }
  for (const grpc of [true, false, { web: false, connect: false }, {}]) {
    const app = Fastify()
    await app.register(daprTokenAuth, { token: TOKEN, grpc })
    await app.ready()
    await app.close()
  }
  t.pass('booleans and objects are accepted')
})

test('grpc-message is percent-encoded as the gRPC spec asks', async t => {
  t.equal(percentEncodeGrpcMessage('Unauthorized'), 'Unauthorized')
  t.equal(percentEncodeGrpcMessage('100% sure'), '100%25 sure')
  t.equal(percentEncodeGrpcMessage('line\nbreak\ttab'), 'line%0Abreak%09tab')
  t.equal(percentEncodeGrpcMessage('clé ✓'), 'cl%C3%A9 %E2%9C%93')
  t.equal(percentEncodeGrpcMessage(' ~'), ' ~', 'printable ASCII bounds stay')
  t.equal(percentEncodeGrpcMessage('\u007f'), '%7F')
})

test('every refusal reason but missing maps to daprd\'s mismatch detail, including reasons other modes add', async t => {
  const detailOf = (reason: string): string | undefined => decodeStatus(Buffer.from(grpcRefusalFor(reason).statusDetails, 'base64')).details[0]?.info.metadata['http.error_message']
  t.equal(detailOf('missing'), GRPC_DETAIL_MISSING)
  for (const reason of ['invalid', 'duplicate', 'expired', 'bad-signature']) t.equal(detailOf(reason), GRPC_DETAIL_MISMATCH, reason)
  t.equal(grpcRefusalFor('expired'), grpcRefusalFor('invalid'), 'prepared once, shared')
})

test('with gRPC-Web or Connect on, native gRPC\'s content type over HTTP/1.1 still gets the plain HTTP refusal', async t => {
  for (const grpc of [{ web: true }, { connect: true }]) {
    const { app, port } = await server({ grpc })
    t.teardown(() => app.close())
    const response = await send(port, 'POST', METHOD, { 'content-type': 'application/grpc+proto' }, '')
    t.equal(response.statusCode, 401, JSON.stringify(grpc))
    t.equal(response.headers['grpc-status'], undefined, `${JSON.stringify(grpc)}: no gRPC status`)
    t.equal(response.headers['content-type'], 'application/json; charset=utf-8', `${JSON.stringify(grpc)}: the app role's JSON error`)
    t.same(JSON.parse(response.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_MISSING', error: 'Unauthorized', message: 'Missing Dapr API token' })
  }
})
