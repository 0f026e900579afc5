import { test } from 'tap'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import Fastify from 'fastify'
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr'
import daprTokenAuth from '../lib/index.js'
import { callAsDapr, createFakeSidecar } from '../lib/testing/index.js'
import { listen, send } from './helpers/http.js'

/*
 * How the fake sidecar (and callAsDapr) reach the app: always the app's own origin, whatever the
 * path; bodies framed by the bytes forwarded; the method path read from the raw request line.
 */

const TOKEN = 'sidecar-token'
const APP_TOKEN = 'app-token'
const auth = { 'dapr-api-token': TOKEN }
type Teardown = { teardown: (fn: () => unknown) => void }

interface Seen { method: string, url: string, headers: IncomingHttpHeaders, body: string }

/** A plain Node server on 127.0.0.1 that records every request byte for byte and answers 200 JSON of it. */
async function recordingServer (t: Teardown): Promise<{ seen: Seen[], port: number, url: string }> {
  const seen: Seen[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      seen.push(entry)
      res.writeHead(200, { 'content-type': 'application/json', 'x-recorder': 'yes' })
      res.end(JSON.stringify({ method: entry.method, url: entry.url, body: entry.body }))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => await new Promise(resolve => server.close(resolve)))
  const { port } = server.address() as { port: number }
  return { seen, port, url: `http://127.0.0.1:${port}` }
}

/** A Fastify app in the `app` role that records the raw URL of every request it gets. */
function appRole (t: Teardown, subscribeRoute = '/orders') {
  const app = Fastify()
  const urls: string[] = []
  app.addHook('onRequest', async request => { urls.push(`${request.method} ${request.raw.url ?? ''}`) })
  app.register(daprTokenAuth, { token: APP_TOKEN })
  app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_request, body, done) => { done(null, JSON.parse(body as string)) })
  app.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: subscribeRoute }])
  app.route({ method: ['GET', 'POST', 'DELETE', 'OPTIONS'], url: '/greet/*', handler: async request => ({ greeted: request.url, body: request.body ?? null }) })
  t.teardown(() => app.close())
  return { app, urls }
}

function sidecar (t: Teardown, appUrl: string | ReturnType<typeof Fastify>) {
  const fake = createFakeSidecar({ token: TOKEN, appToken: APP_TOKEN, appId: 'myapp', appUrl, retry: { maxAttempts: 1, delayMs: 1 } })
  t.teardown(() => fake.close())
  return fake
}

const notFound = (url: string) => JSON.stringify({ message: `Route GET:${url} not found`, error: 'Not Found', statusCode: 404 })

test('an invoke path starting with // goes to the app as that path: another server on 127.0.0.1 gets nothing, nor the app token', async t => {
  const other = await recordingServer(t)
  const { app, urls } = appRole(t)
  const appAddress = await listen(app)
  const fake = sidecar(t, appAddress.url)
  const { port } = await listen(fake)
  const stolen = `//127.0.0.1:${other.port}/steal`

  const res = await send(port, 'GET', `/v1.0/invoke/myapp/method/${stolen.slice(1)}`, auth)
  t.equal(res.statusCode, 404, 'the app\'s own 404 for that path')
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.body, notFound(stolen))
  t.same(urls, [`GET ${stolen}`], 'the app got the path as sent')
  t.same(fake.dapr.calls.filter(c => c.direction === 'out').map(c => [c.method, c.path, c.status]), [['GET', stolen, 404]])

  const dapr = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(port), daprApiToken: TOKEN, communicationProtocol: CommunicationProtocolEnum.HTTP, logger: { level: LogLevel.Error } })
  t.teardown(() => dapr.stop())
  await t.rejects(dapr.invoker.invoke('myapp', `/127.0.0.1:${other.port}/x`, HttpMethod.GET), { message: /"status":404/ }, 'the SDK gets the app\'s 404')
  t.equal(urls.at(-1), `GET //127.0.0.1:${other.port}/x`)

  t.equal(other.seen.length, 0, 'the other server was never called')
})

test('callAsDapr(url or instance).invoke(\'//host/x\') and a path without a slash stay on the app', async t => {
  const other = await recordingServer(t)
  const { app, urls } = appRole(t)
  const appAddress = await listen(app)
  const path = `//127.0.0.1:${other.port}/x`
  for (const target of [appAddress.url, app]) {
    const res = await callAsDapr(target, { token: APP_TOKEN }).invoke(path)
    t.same([res.statusCode, res.body], [404, notFound(path)])
    t.equal(urls.at(-1), `GET ${path}`)
  }
  const delivered = await callAsDapr(appAddress.url, { token: APP_TOKEN }).deliver({ topic: 'orders', route: 'greet/no-slash', data: { a: 1 } })
  t.equal(delivered.statusCode, 200)
  t.equal(urls.at(-1), 'POST /greet/no-slash', 'a route without its leading slash gets one')
  t.equal(other.seen.length, 0)
})

test('a subscription route starting with // is delivered to the app at that path, never to the other host', async t => {
  const other = await recordingServer(t)
  const route = `//127.0.0.1:${other.port}/evil`
  const { app, urls } = appRole(t, route)
  const appAddress = await listen(app)
  const fake = sidecar(t, appAddress.url)
  t.equal((await fake.inject({ method: 'POST', url: '/v1.0/publish/pubsub/orders', headers: auth, payload: { id: 1 } })).statusCode, 204)
  await fake.dapr.settled()
  t.match(fake.dapr.published[0], { outcome: 'dropped', attempts: [{ status: 404, answer: 'DROP' }] }, 'the app\'s 404 drops it, as daprd')
  t.same(urls, ['GET /dapr/subscribe', `POST ${route}`])
  t.equal(other.seen.length, 0)
})

test('invoke forwards a body with any method framed by content-length, and no body as none', async t => {
  const app = await recordingServer(t)
  const fake = sidecar(t, app.url)
  const { port } = await listen(fake)
  for (const method of ['GET', 'DELETE', 'OPTIONS', 'HEAD', 'POST', 'PUT', 'PATCH']) {
    const res = await send(port, method, '/v1.0/invoke/myapp/method/items/1?q=2', { ...auth, 'content-type': 'text/plain', 'content-length': '5' }, 'hello')
    t.equal(res.statusCode, 200, method)
    t.equal(res.headers['x-recorder'], 'yes', method)
    if (method !== 'HEAD') t.same(JSON.parse(res.body), { method, url: '/items/1?q=2', body: 'hello' }, method)
    const seen = app.seen.at(-1)!
    t.same([seen.method, seen.headers['content-length'], seen.headers['transfer-encoding'], seen.headers['content-type'], seen.body],
      [method, '5', undefined, 'text/plain', 'hello'], `${method}: framed by content-length`)
  }

  const chunked = await send(port, 'DELETE', '/v1.0/invoke/myapp/method/items/2', { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, '{"a":1}')
  t.equal(chunked.statusCode, 200)
  t.same([app.seen.at(-1)?.headers['content-length'], app.seen.at(-1)?.headers['transfer-encoding'], app.seen.at(-1)?.body], ['7', undefined, '{"a":1}'],
    'a chunked body is forwarded with its length')

  for (const method of ['GET', 'DELETE', 'OPTIONS']) {
    const res = await send(port, method, '/v1.0/invoke/myapp/method/items/3', auth)
    t.same([res.statusCode, JSON.parse(res.body)], [200, { method, url: '/items/3', body: '' }], method)
    t.same([app.seen.at(-1)?.headers['content-length'], app.seen.at(-1)?.headers['transfer-encoding']], [undefined, undefined], `${method} without a body sends none`)
  }

  const noBodyType = await send(port, 'DELETE', '/v1.0/invoke/myapp/method/items/4', { ...auth, 'content-length': '3' }, 'raw')
  t.same([noBodyType.statusCode, JSON.parse(noBodyType.body).body, app.seen.at(-1)?.headers['content-length']], [200, 'raw', '3'], 'a body without a content type')
})

test('a GET body over the body limit is a 413 in daprd\'s error shape, and nothing reaches the app', async t => {
  const app = await recordingServer(t)
  const fake = createFakeSidecar({ token: TOKEN, appId: 'myapp', appUrl: app.url, fastify: { bodyLimit: 4 } })
  t.teardown(() => fake.close())
  const { port } = await listen(fake)
  const res = await send(port, 'GET', '/v1.0/invoke/myapp/method/items', { ...auth, 'content-length': '8' }, 'too long')
  t.same([res.statusCode, res.headers['content-type'], res.body],
    [413, 'application/json', JSON.stringify({ errorCode: 'ERR_MALFORMED_REQUEST', message: 'Request body is too large' })])
  t.equal(app.seen.length, 0)
})

test('callAsDapr frames its body itself: a content-length or transfer-encoding given in headers is replaced', async t => {
  const app = await recordingServer(t)
  const res = await callAsDapr(app.url, { token: APP_TOKEN }).invoke('x', { method: 'DELETE', body: 'hi', headers: { 'Content-Length': '999', 'transfer-encoding': 'chunked' } })
  t.same([res.statusCode, res.json()], [200, { method: 'DELETE', url: '/x', body: 'hi' }])
  t.same([app.seen[0]?.headers['content-length'], app.seen[0]?.headers['transfer-encoding']], ['2', undefined])
})

test('the real SDK invokes with DELETE and OPTIONS, with and without a body, and the app in the `app` role answers', async t => {
  const { app } = appRole(t)
  const appAddress = await listen(app)
  const fake = sidecar(t, appAddress.url)
  const { port } = await listen(fake)
  const dapr = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(port), daprApiToken: TOKEN, communicationProtocol: CommunicationProtocolEnum.HTTP, logger: { level: LogLevel.Error } })
  t.teardown(() => dapr.stop())
  t.same(await dapr.invoker.invoke('myapp', 'greet/x', HttpMethod.DELETE), { greeted: '/greet/x', body: null })
  t.same(await dapr.invoker.invoke('myapp', 'greet/y', HttpMethod.DELETE, { a: 1 }), { greeted: '/greet/y', body: { a: 1 } })
  t.same(await dapr.invoker.invoke('myapp', 'greet/z', 'options' as HttpMethod, { b: 2 }), { greeted: '/greet/z', body: { b: 2 } })
})

test('an encoded `method` segment (or prefix) is daprd\'s 404, not a call to the app', async t => {
  const app = await recordingServer(t)
  const fake = sidecar(t, app.url)
  const { port } = await listen(fake)
  const expected = JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE', message: 'failed getting app id either from the URL path or the header dapr-app-id' })
  for (const path of ['/v1.0/invoke/myapp/%6Dethod/greet/x', '/v1.0/%69nvoke/myapp/method/greet/x', '/v1.0/invoke/other/%6Dethod/x']) {
    const res = await send(port, 'GET', path, auth)
    t.same([res.statusCode, res.headers['content-type'], res.body], [404, 'application/json', expected], path)
  }
  t.equal(app.seen.length, 0)
  const literal = await send(port, 'GET', '/v1.0/invoke/myapp/method/greet/x', auth)
  t.same([literal.statusCode, JSON.parse(literal.body).url], [200, '/greet/x'])
})

test('metadata lists the app\'s subscriptions before any publish, once the app answers, and asks no more', async t => {
  const { app } = appRole(t)
  const appAddress = await listen(app)
  const fake = sidecar(t, appAddress.url)
  const { port } = await listen(fake)
  const subscription = { pubsubname: 'pubsub', topic: 'orders', rules: { rules: [{ match: '', path: '/orders' }] }, type: 'PROGRAMMATIC' }
  for (let i = 0; i < 2; i++) {
    const res = await send(port, 'GET', '/v1.0/metadata', auth)
    t.same([res.statusCode, res.headers['content-type'], JSON.parse(res.body).subscriptions], [200, 'application/json', [subscription]])
  }
  t.equal(fake.dapr.published.length, 0, 'nothing was published')
  t.same(fake.dapr.calls.filter(c => c.direction === 'out').map(c => [c.method, c.path, c.status]), [['GET', '/dapr/subscribe', 200]], 'asked once')
})

test('metadata with the app not up yet lists none, then lists them once the app listens; no app configured asks nothing', async t => {
  const probe = createNetServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const later = (probe.address() as { port: number }).port
  await new Promise(resolve => probe.close(resolve))
  const fake = sidecar(t, `http://127.0.0.1:${later}`)
  const { port } = await listen(fake)
  const subscriptions = async () => JSON.parse((await send(port, 'GET', '/v1.0/metadata', auth)).body).subscriptions
  t.same(await subscriptions(), [], 'the app is down: none yet, and no error')
  const { app } = appRole(t)
  await app.listen({ host: '127.0.0.1', port: later })
  t.same(await subscriptions(), [{ pubsubname: 'pubsub', topic: 'orders', rules: { rules: [{ match: '', path: '/orders' }] }, type: 'PROGRAMMATIC' }])
  t.same(fake.dapr.calls.filter(c => c.direction === 'out').map(c => [c.path, c.status]), [['/dapr/subscribe', 0], ['/dapr/subscribe', 200]])

  const alone = createFakeSidecar({ token: TOKEN })
  t.teardown(() => alone.close())
  const res = await alone.inject({ method: 'GET', url: '/v1.0/metadata', headers: auth })
  t.same([res.statusCode, JSON.parse(res.body).subscriptions], [200, []])
  t.equal(alone.dapr.calls.filter(c => c.direction === 'out').length, 0)
})
