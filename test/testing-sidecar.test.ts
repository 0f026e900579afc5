import { test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import daprTokenAuth, { DaprTokenNotConfiguredError, fingerprint } from '../lib/index.js'
import { createFakeSidecar, REDACTED, type FakeSidecarOptions } from '../lib/testing/index.js'
import { redactHeaders } from '../lib/testing/recorder.js'
import { listen, send } from './helpers/http.js'

const TOKEN = 'sidecar-token'
const APP_TOKEN = 'app-token'
const auth = { 'dapr-api-token': TOKEN }
type Teardown = { teardown: (fn: () => unknown) => void }

/** An app in the `app` role that records what reached it and answers deliveries as told. */
function buildApp (t: Teardown, answers: Array<{ code: number, body?: string }> = []) {
  const app = Fastify()
  const seen: Array<{ url: string, method: string, headers: Record<string, unknown>, body: unknown, credential: unknown }> = []
  app.register(daprTokenAuth, { token: APP_TOKEN })
  app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_request, body, done) => { done(null, JSON.parse(body as string)) })
  app.get('/dapr/subscribe', async () => [
    { pubsubname: 'pubsub', topic: 'orders', route: '/orders' },
    { pubsubname: 'pubsub', topic: 'a/b', routes: { default: 'nested' } }
  ])
  app.post('/orders', async (request, reply) => {
    seen.push({ url: request.url, method: request.method, headers: request.headers, body: request.body, credential: request.daprToken })
    const next = answers.shift() ?? { code: 200, body: '{"status":"SUCCESS"}' }
    return reply.code(next.code).header('content-type', 'application/json').send(next.body ?? '')
  })
  app.post('/nested', async () => ({ status: 'SUCCESS' }))
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/hello/*',
    handler: async (request, reply) => {
      seen.push({ url: request.url, method: request.method, headers: request.headers, body: request.body, credential: request.daprToken })
      return reply.code(201).header('set-cookie', ['a=1', 'b=2']).header('x-app', 'yes').send({ echo: request.body ?? null })
    }
  })
  t.teardown(() => app.close())
  return { app, seen }
}

function sidecar (t: Teardown, options: FakeSidecarOptions = {}) {
  const fake = createFakeSidecar({ token: TOKEN, appToken: APP_TOKEN, retry: { delayMs: 1 }, ...options })
  t.teardown(() => fake.close())
  return fake
}

test('health endpoints answer 204 without a token; everything else needs it, refused as daprd does', async t => {
  const fake = sidecar(t)
  const { port } = await listen(fake)
  for (const path of ['/v1.0/healthz', '/v1.0/healthz/outbound']) {
    const res = await send(port, 'GET', path)
    t.same([res.statusCode, res.body], [204, ''], path)
  }
  const refused = await send(port, 'GET', '/v1.0/metadata', { 'dapr-api-token': 'wrong' })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(refused.headers['x-content-type-options'], 'nosniff')
  t.equal(refused.body, 'invalid api token\n')
  t.equal((await send(port, 'POST', '/v1.0/state/statestore', {}, '[]')).statusCode, 401)
  t.same(fake.dapr.calls.slice(-2).map(c => [c.direction, c.method, c.path, c.status, c.headers['dapr-api-token'] ?? null]),
    [['in', 'GET', '/v1.0/metadata', 401, REDACTED], ['in', 'POST', '/v1.0/state/statestore', 401, null]])
  t.notMatch(JSON.stringify(fake.dapr.calls), /wrong|sidecar-token/, 'no token value is ever recorded')
})

test('metadata is non-empty JSON naming the app id, components and the app\'s subscriptions', async t => {
  const { app } = buildApp(t)
  const fake = sidecar(t, { appId: 'orders', appUrl: app, bindings: ['queue'], secrets: { vault: { a: '1' } }, pubsubs: ['pubsub', 'events'] })
  const before = await fake.inject({ method: 'GET', url: '/v1.0/metadata', headers: auth })
  t.equal(before.statusCode, 200)
  t.equal(before.headers['content-type'], 'application/json')
  const body = JSON.parse(before.body)
  t.equal(body.id, 'orders')
  t.same(body.components.map((c: { name: string, type: string }) => `${c.name}:${c.type}`),
    ['statestore:state.in-memory', 'pubsub:pubsub.in-memory', 'events:pubsub.in-memory', 'queue:bindings.fake', 'vault:secretstores.in-memory'])
  t.same(body.subscriptions.map((s: { topic: string }) => s.topic), ['orders', 'a/b'], 'read from the app at the first metadata call, as daprd at start')
  t.same(await fake.dapr.subscriptions(), [
    { pubsubname: 'pubsub', topic: 'orders', route: '/orders' },
    { pubsubname: 'pubsub', topic: 'a/b', route: '/nested' }
  ])
  const after = JSON.parse((await fake.inject({ method: 'GET', url: '/v1.0/metadata', headers: auth })).body)
  t.same(after.subscriptions[0], { pubsubname: 'pubsub', topic: 'orders', rules: { rules: [{ match: '', path: '/orders' }] }, type: 'PROGRAMMATIC' })
})

test('shutdown answers 204 and is counted; the fake keeps serving', async t => {
  const fake = sidecar(t)
  const res = await fake.inject({ method: 'POST', url: '/v1.0/shutdown', headers: auth })
  t.same([res.statusCode, res.body, fake.dapr.shutdowns], [204, '', 1])
  t.equal((await fake.inject({ method: 'GET', url: '/v1.0/healthz' })).statusCode, 204)
})

test('publish answers 204 and delivers a CloudEvent with the app token (never the caller\'s) over a socket', async t => {
  const { app, seen } = buildApp(t)
  const { url } = await listen(app)
  const fake = sidecar(t, { appUrl: url, appId: 'checkout' })
  const res = await fake.inject({
    method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: { ...auth, 'content-type': 'application/json', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, payload: '{"id":7}'
  })
  t.same([res.statusCode, res.body], [204, ''])
  await fake.dapr.settled()
  t.equal(seen.length, 1)
  const delivery = seen[0]!
  t.equal(delivery.headers['content-type'], 'application/cloudevents+json')
  t.equal(delivery.headers['dapr-api-token'], undefined, 'the app plugin stripped it after checking')
  t.same(delivery.credential, { kind: 'static', index: 0, fingerprint: fingerprint(APP_TOKEN) }, 'verified against the app token')
  t.match(delivery.body, {
    specversion: '1.0',
    type: 'com.dapr.event.sent',
    source: 'checkout',
    topic: 'orders',
    pubsubname: 'pubsub',
    datacontenttype: 'application/json',
    data: { id: 7 },
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  })
  t.match(fake.dapr.published[0], { pubsub: 'pubsub', topic: 'orders', outcome: 'delivered', attempts: [{ status: 200, answer: 'SUCCESS' }] })
  const out = fake.dapr.calls.filter(c => c.direction === 'out')
  t.same(out.map(c => [c.method, c.path, c.status, c.headers['dapr-api-token']]), [['GET', '/dapr/subscribe', 200, REDACTED], ['POST', '/orders', 200, REDACTED]])
})

test('deliveries honour RETRY (bounded), DROP, a 404 and errors, as daprd reads them', async t => {
  const cases: Array<[string, Array<{ code: number, body?: string }>, string, string[]]> = [
    ['RETRY then SUCCESS', [{ code: 200, body: '{"status":"RETRY"}' }, { code: 200, body: '{"status":"success"}' }], 'delivered', ['RETRY', 'SUCCESS']],
    ['RETRY until the attempts run out', [{ code: 500 }, { code: 200, body: 'not json' }, { code: 200, body: '{"status":"LATER"}' }], 'failed', ['RETRY', 'RETRY', 'RETRY']],
    ['DROP', [{ code: 200, body: '{"status":"DROP"}' }], 'dropped', ['DROP']],
    ['404 drops', [{ code: 404 }], 'dropped', ['DROP']],
    ['empty body is SUCCESS', [{ code: 204 }], 'delivered', ['SUCCESS']],
    ['no status is SUCCESS', [{ code: 200, body: '{"other":1}' }], 'delivered', ['SUCCESS']],
    ['empty status is SUCCESS', [{ code: 200, body: '{"status":""}' }], 'delivered', ['SUCCESS']],
    ['a non-string status retries', [{ code: 200, body: '{"status":1}' }, { code: 200, body: 'null' }], 'delivered', ['RETRY', 'SUCCESS']]
  ]
  for (const [name, answers, outcome, seenAnswers] of cases) {
    const { app } = buildApp(t, answers)
    const fake = sidecar(t, { appUrl: app })
    await fake.inject({ method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hi' })
    await fake.dapr.settled()
    t.equal(fake.dapr.published[0]?.outcome, outcome, name)
    t.same(fake.dapr.published[0]?.attempts.map(a => a.answer), seenAnswers, name)
  }
})

test('an unreachable app: publish still answers 204, delivery retries then fails; unknown topic has no subscriber', async t => {
  const gone = Fastify()
  const { url } = await listen(gone)
  await gone.close()
  const fake = sidecar(t, { appUrl: url, retry: { maxAttempts: 2, delayMs: 1 } })
  t.equal((await fake.inject({ method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: auth })).statusCode, 204)
  await fake.dapr.settled()
  t.match(fake.dapr.published[0], { outcome: 'no-subscriber', attempts: [] }, 'subscriptions could not be read')
  t.equal(fake.dapr.calls.filter(c => c.direction === 'out')[0]?.status, 0)

  const { app } = buildApp(t)
  fake.dapr.appUrl = app
  await fake.inject({ method: 'POST', url: '/v1.0/publish/pubsub/unknown-topic', headers: auth })
  await fake.dapr.settled()
  t.equal(fake.dapr.published[1]?.outcome, 'no-subscriber')

  const stopped = Fastify()
  stopped.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: 'orders' }])
  const second = await listen(stopped)
  const retrying = sidecar(t, { appUrl: second.url, retry: { maxAttempts: 2, delayMs: 1 } })
  t.same(await retrying.dapr.subscriptions(), [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  await stopped.close()
  await retrying.inject({ method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: auth, payload: Buffer.from([1, 2]) })
  await retrying.dapr.settled()
  t.match(retrying.dapr.published[0], { outcome: 'failed', attempts: [{ status: 0, answer: 'RETRY' }, { status: 0, answer: 'RETRY' }] })
})

test('subscriptions the app declares badly are skipped, as daprd would not route them', async t => {
  const answers: unknown[] = [
    [null, { pubsubname: 'p' }, { pubsubname: 'p', topic: 't' }, { pubsubname: 'p', topic: 'r', routes: { rules: [{ match: 'x', path: '/rule' }] } }],
    { not: 'a list' }
  ]
  for (const answer of answers) {
    const app = Fastify()
    app.get('/dapr/subscribe', async () => answer)
    t.teardown(() => app.close())
    const fake = sidecar(t, { appUrl: app })
    t.same(await fake.dapr.subscriptions(), Array.isArray(answer) ? [{ pubsubname: 'p', topic: 'r', route: '/rule' }] : [])
  }
  for (const [code, body] of [[500, '[]'], [200, '[{']] as const) {
    const app = Fastify()
    app.get('/dapr/subscribe', async (_request, reply) => reply.code(code).header('content-type', 'application/json').send(body))
    t.teardown(() => app.close())
    t.same(await sidecar(t, { appUrl: app }).dapr.subscriptions(), [])
  }
})

test('publish: CloudEvents pass through with daprd fields set, other types wrap as data or data_base64; unknown pubsub is a 404', async t => {
  const fake = sidecar(t)
  const publish = async (contentType: string | undefined, payload: string | Buffer | undefined, url = '/v1.0/publish/pubsub/t') => await fake.inject({
    method: 'PUT', url, headers: { ...auth, ...(contentType === undefined ? {} : { 'content-type': contentType }) }, ...(payload === undefined ? {} : { payload })
  })
  await publish('application/cloudevents+json', JSON.stringify({ id: 'mine', source: 's', type: 't', specversion: '1.0', data: { a: 1 } }))
  await publish('application/cloudevents+json', '[1]')
  await publish('text/plain', 'hello')
  await publish('application/octet-stream', Buffer.from([0, 255]))
  await publish('application/json', '{not json')
  await publish(undefined, undefined)
  await fake.dapr.settled()
  const events = fake.dapr.published.map(m => m.event)
  t.match(events[0], { id: 'mine', source: 's', type: 't', data: { a: 1 }, topic: 't', pubsubname: 'pubsub', datacontenttype: 'application/json' })
  t.match(events[1], { data: [1], datacontenttype: 'application/cloudevents+json' })
  t.match(events[2], { data: 'hello', datacontenttype: 'text/plain' })
  t.match(events[3], { data_base64: 'AP8=', datacontenttype: 'application/octet-stream' })
  t.match(events[4], { data: '{not json' })
  t.match(events[5], { data: '', datacontenttype: 'application/json' })
  t.match(events[5]?.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  t.ok(fake.dapr.published.every(m => m.outcome === 'no-subscriber'), 'no app: nobody to deliver to')

  const unknown = await publish('application/json', '{}', '/v1.0/publish/nope/t')
  t.same([unknown.statusCode, unknown.body], [404, JSON.stringify({ errorCode: 'ERR_PUBSUB_NOT_FOUND', message: 'pubsub nope not found' })])
  const noTopic = await publish('application/json', '{}', '/v1.0/publish/pubsub/')
  t.same([noTopic.statusCode, JSON.parse(noTopic.body).errorCode], [404, 'ERR_TOPIC_NAME_EMPTY'])
})

test('invoke forwards any method, path, query, headers and body with the app token, and passes the answer back', async t => {
  const { app, seen } = buildApp(t)
  const { url } = await listen(app)
  const fake = sidecar(t, { appUrl: url, appId: 'orders' })
  const { port } = await listen(fake)
  const res = await send(port, 'PATCH', '/v1.0/invoke/orders/method/hello/x?y=1', { ...auth, 'content-type': 'application/json', 'x-user': 'u' }, '{"a":1}')
  t.equal(res.statusCode, 201)
  t.equal(res.headers['x-app'], 'yes')
  t.same(res.headers['set-cookie'], ['a=1', 'b=2'])
  t.same(JSON.parse(res.body), { echo: { a: 1 } })
  const got = seen[0]!
  t.same([got.method, got.url, got.headers['x-user']], ['PATCH', '/hello/x?y=1', 'u'])
  t.same(got.credential, { kind: 'static', index: 0, fingerprint: fingerprint(APP_TOKEN) })
  t.match(got.headers.traceparent, /^00-/)

  const get = await send(port, 'GET', '/v1.0/invoke/orders/method/hello/a%2Fb/method/c', auth)
  t.same([get.statusCode, JSON.parse(get.body)], [201, { echo: null }])
  t.equal(seen[1]?.url, '/hello/a%2Fb/method/c', 'the method path travels as sent, escapes kept')
})

test('invoke: the caller\'s token never reaches the app, and no app token configured sends none', async t => {
  const { app, seen } = buildApp(t)
  const fake = sidecar(t, { appUrl: app, appToken: '' })
  const res = await fake.inject({ method: 'GET', url: '/v1.0/invoke/app/method/hello/x', headers: auth })
  t.equal(res.statusCode, 401, 'the app refuses a call without its token')
  t.same(JSON.parse(res.body).code, 'FST_DAPR_TOKEN_MISSING')
  t.equal(seen.length, 0)
  t.equal(fake.dapr.calls.find(c => c.direction === 'out')?.headers['dapr-api-token'], undefined)
})

test('invoke errors: unknown app id, no app, unreachable app, all ERR_DIRECT_INVOKE 500s', async t => {
  const fake = sidecar(t)
  const unknown = await fake.inject({ method: 'POST', url: '/v1.0/invoke/other/method/x', headers: auth })
  t.same([unknown.statusCode, unknown.body], [500, JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: other, err: couldn\'t find service: other' })])
  const noApp = await fake.inject({ method: 'GET', url: '/v1.0/invoke/app/method/x', headers: auth })
  t.same([noApp.statusCode, noApp.body], [500, JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: app, err: app channel is not initialized' })])
  const gone = Fastify()
  const { url } = await listen(gone)
  await gone.close()
  fake.dapr.appUrl = url
  const down = await fake.inject({ method: 'GET', url: '/v1.0/invoke/app/method/x', headers: auth })
  t.equal(down.statusCode, 500)
  t.match(JSON.parse(down.body), { errorCode: 'ERR_DIRECT_INVOKE', message: /^failed to invoke, id: app, err: / })
})

test('bindings are recorded; unknown names and bad bodies get daprd errors', async t => {
  const any = sidecar(t)
  const res = await any.inject({ method: 'POST', url: '/v1.0/bindings/queue', headers: auth, payload: { operation: 'create', data: { a: 1 }, metadata: { k: 'v' } } })
  t.same([res.statusCode, res.body], [204, ''])
  await any.inject({ method: 'PUT', url: '/v1.0/bindings/other', headers: auth, payload: { data: 'x' } })
  t.same(any.dapr.bindings, [{ name: 'queue', operation: 'create', data: { a: 1 }, metadata: { k: 'v' } }, { name: 'other', operation: '', data: 'x', metadata: {} }])
  const listed = sidecar(t, { bindings: ['queue'] })
  const unknown = await listed.inject({ method: 'POST', url: '/v1.0/bindings/nope', headers: auth, payload: { operation: 'create' } })
  t.same([unknown.statusCode, unknown.body], [500, JSON.stringify({ errorCode: 'ERR_INVOKE_OUTPUT_BINDING', message: 'error invoking output binding nope: couldn\'t find output binding nope' })])
  for (const payload of ['[]', 'null']) {
    const bad = await listed.inject({ method: 'POST', url: '/v1.0/bindings/queue', headers: { ...auth, 'content-type': 'application/json' }, payload })
    t.same([bad.statusCode, JSON.parse(bad.body).errorCode], [400, 'ERR_MALFORMED_REQUEST'], payload)
  }
})

test('secrets come from the in-memory map, with daprd status codes for unknown stores and keys', async t => {
  const fake = sidecar(t, { secrets: { vault: { db: 'pw', api: 'k' } } })
  const get = async (url: string) => await fake.inject({ method: 'GET', url, headers: auth }).then(r => [r.statusCode, r.headers['content-type'], r.body])
  t.same(await get('/v1.0/secrets/vault/db'), [200, 'application/json', '{"db":"pw"}'])
  t.same(await get('/v1.0/secrets/vault/bulk'), [200, 'application/json', '{"db":{"db":"pw"},"api":{"api":"k"}}'])
  t.same(await get('/v1.0/secrets/vault/nope'), [500, 'application/json', JSON.stringify({ errorCode: 'ERR_SECRET_GET', message: 'failed getting secret with key nope from secret store vault: secret nope not found' })])
  t.same(await get('/v1.0/secrets/other/db'), [401, 'application/json', JSON.stringify({ errorCode: 'ERR_SECRET_STORE_NOT_FOUND', message: 'failed finding secret store with key other' })])
  t.same(await get('/v1.0/secrets/vault/toString'), [500, 'application/json', JSON.stringify({ errorCode: 'ERR_SECRET_GET', message: 'failed getting secret with key toString from secret store vault: secret toString not found' })])
  const none = sidecar(t)
  const res = await none.inject({ method: 'GET', url: '/v1.0/secrets/vault/db', headers: auth })
  t.same([res.statusCode, res.body], [500, JSON.stringify({ errorCode: 'ERR_SECRET_STORES_NOT_CONFIGURED', message: 'secret store is not configured' })])
})

test('tokens: several are valid, setToken rotates them, none configured fails at creation, the env var is the default', async t => {
  const fake = sidecar(t, { token: ['new', 'old'] })
  const status = async (token: string) => (await fake.inject({ method: 'GET', url: '/v1.0/metadata', headers: { 'dapr-api-token': token } })).statusCode
  t.same([await status('new'), await status('old'), await status('x')], [200, 200, 401])
  fake.dapr.setToken('rotated')
  t.same([await status('new'), await status('rotated')], [401, 200])
  t.throws(() => fake.dapr.setToken(' '), DaprTokenNotConfiguredError)

  const saved = process.env.DAPR_API_TOKEN
  t.teardown(() => { if (saved === undefined) delete process.env.DAPR_API_TOKEN; else process.env.DAPR_API_TOKEN = saved })
  delete process.env.DAPR_API_TOKEN
  t.throws(() => createFakeSidecar(), { code: 'FST_DAPR_TOKEN_NOT_CONFIGURED', message: /DAPR_API_TOKEN/ })
  process.env.DAPR_API_TOKEN = 'from-env'
  const fromEnv = createFakeSidecar()
  t.teardown(() => fromEnv.close())
  t.equal((await fromEnv.inject({ method: 'GET', url: '/v1.0/metadata', headers: { 'dapr-api-token': 'from-env' } })).statusCode, 200)
})

test('the app token defaults to APP_API_TOKEN; appUrl must be an http:// URL', async t => {
  const saved = process.env.APP_API_TOKEN
  t.teardown(() => { if (saved === undefined) delete process.env.APP_API_TOKEN; else process.env.APP_API_TOKEN = saved })
  process.env.APP_API_TOKEN = APP_TOKEN
  const { app, seen } = buildApp(t)
  const fake = createFakeSidecar({ token: TOKEN, appUrl: app })
  t.teardown(() => fake.close())
  t.equal((await fake.inject({ method: 'DELETE', url: '/v1.0/invoke/app/method/hello/z', headers: auth })).statusCode, 201)
  t.equal(seen.length, 1)
  delete process.env.APP_API_TOKEN
  const noToken = createFakeSidecar({ token: TOKEN, appUrl: app })
  t.teardown(() => noToken.close())
  t.equal((await noToken.inject({ method: 'DELETE', url: '/v1.0/invoke/app/method/hello/z', headers: auth })).statusCode, 401)

  t.throws(() => createFakeSidecar({ token: TOKEN, appUrl: 'not a url' }), { name: 'TypeError', message: /`appUrl` must be an http:\/\/ URL/ })
  t.throws(() => createFakeSidecar({ token: TOKEN, appUrl: 'https://127.0.0.1:1' }), { name: 'TypeError', message: '`appUrl` must use http://, not https:' })
  t.throws(() => { fake.dapr.appUrl = 'ftp://x' }, TypeError)
  fake.dapr.appUrl = 'http://127.0.0.1:1/ignored/path'
  t.equal(fake.dapr.appUrl, 'http://127.0.0.1:1')
})

test('a body over the limit is a 413 in daprd\'s error shape', async t => {
  const fake = sidecar(t, { fastify: { bodyLimit: 8 } })
  const res = await fake.inject({ method: 'POST', url: '/v1.0/state/statestore', headers: { ...auth, 'content-type': 'application/json' }, payload: '[{"key":"a","value":1}]' })
  t.equal(res.statusCode, 413)
  t.equal(res.headers['content-type'], 'application/json')
  t.match(JSON.parse(res.body), { errorCode: 'ERR_MALFORMED_REQUEST', message: String })
})

test('the fake is an ordinary Fastify instance: a user can add routes, all protected', async t => {
  const fake = sidecar(t)
  fake.get('/v1.0/custom', async () => ({ ok: true }))
  t.equal((await fake.inject({ method: 'GET', url: '/v1.0/custom' })).statusCode, 401)
  t.same((await fake.inject({ method: 'GET', url: '/v1.0/custom', headers: auth })).json(), { ok: true })
  const unknown = await (fake as FastifyInstance).inject({ method: 'GET', url: '/nope' })
  t.same([unknown.statusCode, unknown.body], [401, 'invalid api token\n'], 'a 401 before any 404, as daprd')
})

test('recorded headers: token redacted, repeated headers joined, absent ones left out', async t => {
  t.same(redactHeaders({ 'Dapr-Api-Token': 'secret', cookie: ['a', 'b'], gone: undefined, host: 'h' }, 'dapr-api-token'),
    { 'dapr-api-token': REDACTED, cookie: 'a, b', host: 'h' })
})

test('concurrent publishes ask the app for its subscriptions once', async t => {
  const { app, seen } = buildApp(t)
  const fake = sidecar(t, { appUrl: app })
  await Promise.all([1, 2, 3].map(async id => await fake.inject({ method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: auth, payload: { id } })))
  await fake.dapr.settled()
  t.equal(fake.dapr.calls.filter(c => c.path === '/dapr/subscribe').length, 1)
  t.equal(seen.length, 3)
  t.ok(fake.dapr.published.every(m => m.outcome === 'delivered'))
})
