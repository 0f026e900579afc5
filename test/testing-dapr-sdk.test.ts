import { test } from 'tap'
import { createServer } from 'node:net'
import Fastify from 'fastify'
import { CommunicationProtocolEnum, DaprClient, DaprServer, HttpMethod, LogLevel } from '@dapr/dapr'
import daprTokenAuth, { fingerprint } from '../lib/index.js'
import { createFakeSidecar } from '../lib/testing/index.js'
import { listen } from './helpers/http.js'

/*
 * The real @dapr/dapr SDK (HTTP) against the fake sidecar, over 127.0.0.1. SDK pitfalls handled
 * here: state.save/delete and pubsub.publish resolve to `{ error }` instead of throwing, and
 * `stop()` destroys the keep-alive agents every DaprClient shares, so clients stop at the very end.
 */

const DAPR_TOKEN = 'dapr-api-token-for-the-sidecar'
const APP_TOKEN = 'app-api-token-for-the-app'
const logger = { level: LogLevel.Error }

function client (port: number, token: string): DaprClient {
  return new DaprClient({ daprHost: '127.0.0.1', daprPort: String(port), daprApiToken: token, communicationProtocol: CommunicationProtocolEnum.HTTP, logger })
}

async function freePort (): Promise<number> {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise(resolve => probe.close(resolve))
  return port
}

test('DaprClient: start-up, state, publish, invoke, secrets, bindings, metadata and shutdown with the right token; 401 once the token is wrong', async t => {
  const app = Fastify()
  const deliveries: unknown[] = []
  const invocations: Array<{ credential: unknown, token: unknown, body: unknown }> = []
  app.register(daprTokenAuth, { token: APP_TOKEN })
  app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_request, body, done) => { done(null, JSON.parse(body as string)) })
  app.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  app.post('/orders', async request => { deliveries.push(request.body); return { status: 'SUCCESS' } })
  app.post('/greet', async request => {
    invocations.push({ credential: request.daprToken, token: request.headers['dapr-api-token'] ?? null, body: request.body })
    return { hello: (request.body as { name: string }).name }
  })
  t.teardown(() => app.close())
  const appAddress = await listen(app)

  const sidecar = createFakeSidecar({ token: DAPR_TOKEN, appToken: APP_TOKEN, appId: 'greeter', appUrl: appAddress.url, secrets: { vault: { db: 'pw' } } })
  t.teardown(() => sidecar.close())
  const { port } = await listen(sidecar)

  const dapr = client(port, DAPR_TOKEN)
  t.teardown(() => dapr.stop())
  await dapr.start()
  t.equal(sidecar.dapr.calls[0]?.path, '/v1.0/metadata', 'start-up polls the metadata endpoint')
  t.equal(sidecar.dapr.calls[0]?.status, 200)

  t.same(await dapr.state.save('statestore', [{ key: 'order-1', value: { qty: 2 } }, { key: 'note', value: 'text' }]), {})
  t.same(await dapr.state.get('statestore', 'order-1'), { qty: 2 })
  t.equal(await dapr.state.get('statestore', 'note'), 'text')
  t.equal(await dapr.state.get('statestore', 'missing'), '', 'daprd answers 204: the SDK returns an empty string')
  t.same(await dapr.state.getBulk('statestore', ['order-1', 'missing']), [{ key: 'order-1', data: { qty: 2 }, etag: '1' }, { key: 'missing' }])
  await dapr.state.transaction('statestore', [{ operation: 'upsert', request: { key: 'tx', value: 1 } }, { operation: 'delete', request: { key: 'note' } }])
  t.same(await dapr.state.delete('statestore', 'tx'), {})
  t.equal(sidecar.dapr.stores.get('statestore')?.items.size, 1)
  const stale = await dapr.state.save('statestore', [{ key: 'order-1', value: 3, etag: '99' }])
  t.match(JSON.parse((stale.error as Error).message), { status: 409, error_msg: /ERR_STATE_SAVE/ }, 'a stale ETag: the SDK resolves to { error }')
  await t.rejects(dapr.state.get('nope', 'k'), { message: /"status":400/ }, 'unknown store: daprd\'s 400')

  t.same(await dapr.pubsub.publish('pubsub', 'orders', { id: 42 }), {})
  await sidecar.dapr.settled()
  t.match(deliveries, [{ data: { id: 42 }, topic: 'orders', pubsubname: 'pubsub', source: 'greeter' }])
  t.equal(sidecar.dapr.published[0]?.outcome, 'delivered')
  const unknownPubsub = await dapr.pubsub.publish('nope', 'orders', { id: 1 })
  t.match(JSON.parse((unknownPubsub.error as Error).message), { status: 404 }, 'unknown pubsub: { error } with daprd\'s 404')

  t.same(await dapr.invoker.invoke('greeter', 'greet', HttpMethod.POST, { name: 'Ada' }), { hello: 'Ada' })
  t.same(invocations, [{ credential: { kind: 'static', index: 0, fingerprint: fingerprint(APP_TOKEN) }, token: null, body: { name: 'Ada' } }],
    'the app verified the APP token; the caller\'s DAPR token never reached it')

  t.same(await dapr.secret.get('vault', 'db'), { db: 'pw' })
  t.equal(await dapr.binding.send('queue', 'create', { a: 1 }), '', 'a binding without output answers 204')
  t.same(sidecar.dapr.bindings, [{ name: 'queue', operation: 'create', data: { a: 1 }, metadata: {} }])
  t.match(await dapr.metadata.get(), { id: 'greeter' })
  t.equal(await dapr.health.isHealthy(), true)

  await dapr.sidecar.shutdown()
  t.equal(sidecar.dapr.shutdowns, 1)

  // daprd restarted with a new DAPR_API_TOKEN: the client's token is now wrong.
  sidecar.dapr.setToken('rotated')
  await t.rejects(dapr.state.get('statestore', 'order-1'), { message: JSON.stringify({ error: 'Unauthorized', error_msg: 'invalid api token\n', status: 401 }) })
  const refusedSave = await dapr.state.save('statestore', [{ key: 'x', value: 1 }])
  t.match(JSON.parse((refusedSave.error as Error).message), { status: 401, error_msg: 'invalid api token\n' }, 'save resolves to { error } with the 401')
  const refusedPublish = await dapr.pubsub.publish('pubsub', 'orders', { id: 43 })
  t.match(JSON.parse((refusedPublish.error as Error).message), { status: 401 })
  await t.rejects(dapr.invoker.invoke('greeter', 'greet', HttpMethod.POST, { name: 'Eve' }), { message: /"status":401/ })
  await t.rejects(dapr.secret.get('vault', 'db'), { message: /"status":401/ })
  t.equal(await dapr.health.isHealthy(), false)
  await sidecar.dapr.settled()
  t.equal(deliveries.length, 1, 'nothing refused was delivered')
  t.equal(invocations.length, 1, 'nothing refused was forwarded')
  t.notMatch(JSON.stringify(sidecar.dapr.calls), new RegExp(`${DAPR_TOKEN}|${APP_TOKEN}|rotated`), 'no token in the records')
})

test('DaprServer: an SDK app receives pub/sub deliveries and invocations through the fake sidecar', async t => {
  const serverPort = await freePort()
  const sidecar = createFakeSidecar({ token: DAPR_TOKEN, appToken: APP_TOKEN, appId: 'sdk-app', appUrl: `http://127.0.0.1:${serverPort}` })
  t.teardown(() => sidecar.close())
  const { port } = await listen(sidecar)

  const server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(serverPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    clientOptions: { daprHost: '127.0.0.1', daprPort: String(port), daprApiToken: DAPR_TOKEN, communicationProtocol: CommunicationProtocolEnum.HTTP },
    logger
  })
  // DaprServer's Express app listens on every interface by default: keep it on 127.0.0.1.
  const express = server.daprServer.getServer()
  const expressListen = express.listen.bind(express)
  express.listen = (portNumber: number) => expressListen(portNumber, '127.0.0.1')

  const received: Array<{ data: unknown, token: unknown }> = []
  await server.pubsub.subscribe('pubsub', 'orders', async (data: unknown, headers?: object) => {
    received.push({ data, token: (headers as Record<string, unknown> | undefined)?.['dapr-api-token'] })
  })
  const invoked: Array<{ body: unknown, token: unknown }> = []
  await server.invoker.listen('hello', async request => {
    invoked.push({ body: request.body, token: request.headers?.['dapr-api-token'] })
    return { hi: true }
  }, { method: HttpMethod.POST })
  await server.start()
  t.teardown(() => server.stop())

  const dapr = client(port, DAPR_TOKEN)
  t.teardown(() => dapr.stop())
  t.same(await dapr.pubsub.publish('pubsub', 'orders', { id: 1 }), {})
  await sidecar.dapr.settled()
  t.same(received, [{ data: { id: 1 }, token: APP_TOKEN }], 'delivered with the APP token (DaprServer itself verifies nothing)')
  t.match(sidecar.dapr.published[0], { outcome: 'delivered', attempts: [{ status: 200, answer: 'SUCCESS' }] })
  t.same(await sidecar.dapr.subscriptions(), [{ pubsubname: 'pubsub', topic: 'orders', route: '/pubsub--orders--default' }])

  t.same(await dapr.invoker.invoke('sdk-app', 'hello', HttpMethod.POST, { q: 1 }), { hi: true })
  t.same(invoked, [{ body: JSON.stringify({ q: 1 }), token: APP_TOKEN }], 'forwarded with the APP token, not the caller\'s DAPR token')
})
