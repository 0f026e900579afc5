import { test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint } from '../lib/index.js'
import { callAsDapr } from '../lib/testing/index.js'
import { listen } from './helpers/http.js'

const APP_TOKEN = 'app-token'
type Teardown = { teardown: (fn: () => unknown) => void }

/** A Fastify app in the `app` role with a pub/sub handler and an invocation handler. */
function buildApp (t: Teardown) {
  const app = Fastify()
  const received: unknown[] = []
  app.register(daprTokenAuth, { token: APP_TOKEN })
  app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_request, body, done) => { done(null, JSON.parse(body as string)) })
  app.get('/healthz', async () => 'ok')
  app.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  app.post('/orders', async request => {
    received.push(request.body)
    return { status: (request.body as { data?: { drop?: boolean } }).data?.drop === true ? 'DROP' : 'SUCCESS' }
  })
  app.route({
    method: ['GET', 'POST'],
    url: '/echo',
    handler: async request => ({
      body: request.body ?? null,
      contentType: request.headers['content-type'] ?? null,
      traceparent: request.headers.traceparent,
      token: request.headers['dapr-api-token'] ?? null,
      credential: request.daprToken,
      custom: request.headers['x-custom'] ?? null
    })
  })
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => { done(null, (body as Buffer).toString('hex')) })
  t.teardown(() => app.close())
  return { app, received }
}

test('invoke calls the app with the app token and a traceparent, over a socket and through inject', async t => {
  const { app } = buildApp(t)
  const { url } = await listen(app)
  for (const target of [url, app]) {
    const dapr = callAsDapr(target, { token: APP_TOKEN })
    const res = await dapr.invoke('echo', { body: { a: 1 }, headers: { 'x-custom': 'c' } })
    t.equal(res.statusCode, 200)
    const body = res.json<Record<string, unknown>>()
    t.same(body.credential, { kind: 'static', index: 0, fingerprint: fingerprint(APP_TOKEN) })
    t.same([body.body, body.contentType, body.token, body.custom], [{ a: 1 }, 'application/json', null, 'c'])
    t.match(body.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    t.match(res.headers['content-type'], /^application\/json/)
  }
})

test('bodies: strings as text/plain, Buffers as octet-stream, none as a GET; a traceparent can be given', async t => {
  const { app } = buildApp(t)
  const dapr = callAsDapr(app, { token: APP_TOKEN })
  t.match((await dapr.invoke('/echo', { body: 'hi' })).json(), { body: 'hi', contentType: 'text/plain' })
  t.match((await dapr.invoke('/echo', { body: Buffer.from([1, 2]) })).json(), { body: '0102', contentType: 'application/octet-stream' })
  t.match((await dapr.invoke('/echo', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })).json(),
    { body: null, contentType: null, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
})

test('the app refuses the caller\'s token, a missing token, and accepts the tokenless health probe', async t => {
  const { app } = buildApp(t)
  const asCaller = callAsDapr(app, { token: 'the-callers-dapr-api-token' })
  const wrong = await asCaller.invoke('echo')
  t.same([wrong.statusCode, wrong.json()], [401, { statusCode: 401, code: 'FST_DAPR_TOKEN_INVALID', error: 'Unauthorized', message: 'Invalid Dapr API token' }])
  const none = await callAsDapr(app, { token: null }).invoke('echo')
  t.same([none.statusCode, none.json<{ code: string }>().code], [401, 'FST_DAPR_TOKEN_MISSING'])
  const oneCallWithout = await callAsDapr(app, { token: APP_TOKEN }).invoke('echo', { token: null })
  t.equal(oneCallWithout.statusCode, 401)
  const probe = await callAsDapr(app, { token: APP_TOKEN }).healthProbe()
  t.same([probe.statusCode, probe.body], [200, 'ok'])
  t.equal((await callAsDapr(app).healthProbe('/echo')).statusCode, 401, 'only the exempt route is open')
})

test('deliver posts a CloudEvent to the subscribed route and reads the answer', async t => {
  const { app, received } = buildApp(t)
  const { url } = await listen(app)
  const dapr = callAsDapr(url, { token: APP_TOKEN, appId: 'publisher' })
  t.same(await dapr.subscriptions(), [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  const res = await dapr.deliver({ topic: 'orders', data: { id: 1 } })
  t.same([res.statusCode, res.answer], [200, 'SUCCESS'])
  t.match(received[0], { specversion: '1.0', type: 'com.dapr.event.sent', source: 'publisher', topic: 'orders', pubsubname: 'pubsub', data: { id: 1 }, id: res.event.id })
  const drop = await dapr.deliver({ pubsub: 'pubsub', topic: 'orders', route: '/orders', data: { drop: true }, event: { id: 'fixed' } })
  t.same([drop.answer, drop.event.id], ['DROP', 'fixed'])
  const withCallerToken = await dapr.deliver({ topic: 'orders', data: {}, token: 'the-callers-dapr-api-token' })
  t.same([withCallerToken.statusCode, withCallerToken.answer], [401, 'RETRY'], 'a delivery with the caller\'s token is refused (daprd would retry)')
  t.equal(received.length, 2)
  await t.rejects(dapr.deliver({ topic: 'unknown', data: {} }), { message: 'the app did not subscribe to pubsub/unknown in GET /dapr/subscribe' })
})

test('the token defaults to APP_API_TOKEN; a target must be an http:// URL', async t => {
  const saved = process.env.APP_API_TOKEN
  t.teardown(() => { if (saved === undefined) delete process.env.APP_API_TOKEN; else process.env.APP_API_TOKEN = saved })
  const { app } = buildApp(t)
  process.env.APP_API_TOKEN = APP_TOKEN
  t.equal((await callAsDapr(app).invoke('echo')).statusCode, 200)
  t.same(await callAsDapr(app).subscriptions(), [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  delete process.env.APP_API_TOKEN
  t.equal((await callAsDapr(app).invoke('echo')).statusCode, 401)
  t.same(await callAsDapr(app).subscriptions(), [], 'refused: no subscriptions')
  t.throws(() => callAsDapr('127.0.0.1:3000'), { name: 'TypeError', message: /`target` must be an http:\/\/ URL/ })
})
