import type { Http2Server, ServerHttp2Session } from 'node:http2'
import { test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { CommunicationProtocolEnum, DaprClient } from '@dapr/dapr'
import { GetMetadataResponseSchema } from '@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb'
import { Settings } from '@dapr/dapr/utils/Settings.util'
import { create, toBinary } from '@bufbuild/protobuf'
import daprTokenAuth from '../lib/index.js'
import { GRPC_DETAIL_MISMATCH, GRPC_DETAIL_MISSING } from '../lib/grpc.js'
import { listen } from './helpers/http.js'
import { decodeErrorInfo, frame } from './helpers/grpc.js'

/*
 * The real @dapr/dapr 3.18 client in gRPC mode (ConnectRPC's gRPC transport over h2c) against a
 * fake Dapr sidecar: Fastify with `http2: true`, the plugin in the `sidecar` role, and a hand-made
 * `dapr.proto.runtime.v1.Dapr/GetMetadata` answering a GetMetadataResponse encoded with the SDK's
 * own schema. GetMetadata is also what the SDK's start-up probe calls.
 */

const TOKEN = 'sidecar-s3cret'
const GET_METADATA = '/dapr.proto.runtime.v1.Dapr/GetMetadata'

/**
 * The fake sidecar, closed by `close()`: ConnectRPC keeps its HTTP/2 session open and `stop()`
 * does not close it, so the server's sessions are destroyed before the server closes.
 */
async function fakeSidecar (): Promise<{ close: () => Promise<void>, port: number, calls: Array<string | string[] | undefined> }> {
  const app = Fastify({ http2: true }) as unknown as FastifyInstance
  const sessions = new Set<ServerHttp2Session>()
  ;(app.server as unknown as Http2Server).on('session', session => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  const calls: Array<string | string[] | undefined> = []
  await app.register(daprTokenAuth, { role: 'sidecar', token: TOKEN, logLevel: 'silent' })
  app.addContentTypeParser(/^application\/grpc/, { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
  app.post(GET_METADATA, (request, reply) => {
    calls.push(request.headers['dapr-api-token'])
    const message = toBinary(GetMetadataResponseSchema, create(GetMetadataResponseSchema, { id: 'fake-sidecar' }))
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': 'application/grpc' })
    reply.raw.addTrailers({ 'grpc-status': '0' })
    reply.raw.end(frame(message))
  })
  const { port } = await listen(app)
  async function close (): Promise<void> {
    for (const session of sessions) session.destroy()
    await app.close()
  }
  return { close, port, calls }
}

function grpcClient (port: number, daprApiToken?: string): DaprClient {
  return new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(port),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    ...(daprApiToken === undefined ? {} : { daprApiToken }),
    logger: { level: 0 }
  })
}

interface ConnectLikeError { code: number, rawMessage: string, details: Array<{ type?: string, value?: Uint8Array }> }

/** The SDK's own ConnectRPC client, uninitialised: the exact call its start-up probe makes. */
async function probe (client: DaprClient): Promise<ConnectLikeError> {
  const inner = await (client.daprClient as unknown as { getClient: (init: boolean) => Promise<{ getMetadata: (request: object) => Promise<unknown> }> }).getClient(false)
  try {
    await inner.getMetadata({})
  } catch (error) {
    return error as ConnectLikeError
  }
  throw new Error('the call was not refused')
}

function detailOf (error: ConnectLikeError): string | undefined {
  const [detail] = error.details
  if (detail?.type !== 'google.rpc.ErrorInfo' || detail.value === undefined) return undefined
  return decodeErrorInfo(detail.value).metadata['http.error_message']
}

test('@dapr/dapr in gRPC mode with the right token reads metadata from the fake sidecar, which never sees the token', async t => {
  const { close, port, calls } = await fakeSidecar()
  t.teardown(close)
  const client = grpcClient(port, TOKEN)
  t.teardown(() => client.stop())

  const metadata = await client.metadata.get()
  t.equal(metadata.id, 'fake-sidecar')
  t.same(metadata.components, [])
  t.ok(calls.length >= 2, 'the start-up probe and the call itself')
  t.same(new Set(calls), new Set([undefined]), 'the token was stripped before the handler')
})

test('@dapr/dapr in gRPC mode with a wrong or no token gets UNAUTHENTICATED with daprd\'s details', async t => {
  const { close, port, calls } = await fakeSidecar()
  t.teardown(close)

  const wrong = await probe(grpcClient(port, 'not-the-token'))
  t.equal(wrong.code, 16)
  t.equal(wrong.rawMessage, 'Unauthorized')
  t.equal(detailOf(wrong), GRPC_DETAIL_MISMATCH)

  const missing = await probe(grpcClient(port))
  t.equal(missing.code, 16)
  t.equal(missing.rawMessage, 'Unauthorized')
  t.equal(detailOf(missing), GRPC_DETAIL_MISSING)
  t.same(calls, [], 'the handler never ran')
})

test('@dapr/dapr in gRPC mode with a wrong token never starts, as against daprd', async t => {
  const { close, port, calls } = await fakeSidecar()
  t.teardown(close)
  // The SDK polls 61 times, 500 ms apart; the delay is its own static setting. 1 ms keeps the test short.
  // It is private in the SDK's typings, hence the cast.
  const settings = Settings as unknown as { daprSidecarPollingDelayMs: number }
  const delay = settings.daprSidecarPollingDelayMs
  settings.daprSidecarPollingDelayMs = 1
  t.teardown(() => { settings.daprSidecarPollingDelayMs = delay })
  const client = grpcClient(port, 'not-the-token')
  t.teardown(() => client.stop())

  await t.rejects(client.metadata.get(), new Error('DAPR_SIDECAR_COULD_NOT_BE_STARTED'))
  t.same(calls, [])
})
