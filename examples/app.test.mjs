// A test file to copy: your Fastify app's Dapr handlers, auth included, tested without daprd.
// Run it with `node --test examples/app.test.mjs` (after `npm run build` in this repository; in
// your project, `fastify-dapr-token-auth` comes from node_modules).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import daprTokenAuth from 'fastify-dapr-token-auth'
import { callAsDapr, createFakeSidecar } from 'fastify-dapr-token-auth/testing'

const APP_API_TOKEN = 'test-app-token'

// Your app, as you build it in production (here: a pub/sub handler and a method).
function buildApp () {
  const app = Fastify()
  const orders = []
  app.register(daprTokenAuth, { token: APP_API_TOKEN })
  // daprd delivers pub/sub messages as application/cloudevents+json: Fastify needs a parser for it.
  app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_request, body, done) => {
    try { done(null, JSON.parse(body)) } catch (error) { done(error) }
  })
  app.get('/healthz', async () => 'ok')
  app.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  app.post('/orders', async request => {
    orders.push(request.body.data)
    return { status: 'SUCCESS' }
  })
  app.get('/orders/count', async () => ({ count: orders.length }))
  return app
}

test('a delivery with the app token is handled', async t => {
  const app = buildApp()
  t.after(() => app.close())
  const dapr = callAsDapr(app, { token: APP_API_TOKEN }) // a Fastify instance: calls go through inject
  const delivery = await dapr.deliver({ topic: 'orders', data: { id: 1 } })
  assert.equal(delivery.statusCode, 200)
  assert.equal(delivery.answer, 'SUCCESS')
  assert.deepEqual((await dapr.invoke('orders/count')).json(), { count: 1 })
})

test('a delivery carrying the caller\'s token (not the app token) is refused', async t => {
  const app = buildApp()
  t.after(() => app.close())
  const dapr = callAsDapr(app, { token: APP_API_TOKEN })
  const delivery = await dapr.deliver({ topic: 'orders', data: { id: 1 }, token: 'the-dapr-api-token-of-a-caller' })
  assert.equal(delivery.statusCode, 401)
  assert.equal(delivery.json().code, 'FST_DAPR_TOKEN_INVALID')
  assert.equal((await dapr.healthProbe()).statusCode, 200, 'daprd\'s health probe sends no token')
})

test('through a fake sidecar: publish, then the sidecar delivers to the app with the app token', async t => {
  const app = buildApp()
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const sidecar = createFakeSidecar({ token: 'test-dapr-token', appToken: APP_API_TOKEN, appUrl: `http://127.0.0.1:${app.server.address().port}` })
  t.after(() => sidecar.close())

  // Your code under test would use DaprClient against the sidecar's port; inject works too.
  const published = await sidecar.inject({
    method: 'POST',
    url: '/v1.0/publish/pubsub/orders',
    headers: { 'dapr-api-token': 'test-dapr-token', 'content-type': 'application/json' },
    payload: { id: 2 }
  })
  assert.equal(published.statusCode, 204)
  await sidecar.dapr.settled()
  assert.equal(sidecar.dapr.published[0].outcome, 'delivered')

  const refused = await sidecar.inject({ method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: { 'dapr-api-token': 'wrong' } })
  assert.equal(refused.statusCode, 401)
  assert.equal(refused.body, 'invalid api token\n')
})
