import { test, type Test } from 'tap'
import Fastify, { type FastifyServerOptions } from 'fastify'
import daprTokenAuth from '../lib/index.js'
import { sendRaw } from './helpers/http.js'
import { DUPLICATE, INVALID, MISSING, assertResponse, expectBoth, json, notFound, start, text, viaInject, viaSocket } from './helpers/exchange.js'

const TOKEN = 'app-token-1'
const WITH_TOKEN = { 'dapr-api-token': TOKEN }
const HEALTHY = text('healthy')
const HEALTHY_HEAD = { ...HEALTHY, body: '' }

/** An app behind a sidecar, protected with the `app` role defaults. */
async function appServer (t: Test, serverOptions: FastifyServerOptions = {}) {
  const app = Fastify(serverOptions)
  await app.register(daprTokenAuth, { token: TOKEN })
  app.get('/healthz', async () => 'healthy')
  app.post('/healthz', async () => ({ posted: true }))
  app.get('/health-admin', async () => ({ admin: true }))
  app.get('/secret', async () => ({ secret: true }))
  app.post('/orders', async () => ({ ok: true }))
  const port = await start(t, app)
  return { app, port }
}

test('app role: GET and HEAD /healthz need no token (daprd\'s app health probe sends none)', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { url: '/healthz' }, HEALTHY)
  await expectBoth(t, app, port, { method: 'HEAD', url: '/healthz' }, HEALTHY_HEAD)
  await expectBoth(t, app, port, { url: '/healthz?x=1' }, HEALTHY)
})

test('app role: POST /healthz is protected, the exemption names methods', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { method: 'POST', url: '/healthz' }, MISSING)
  await expectBoth(t, app, port, { method: 'POST', url: '/healthz', headers: WITH_TOKEN }, json({ posted: true }))
})

test('app role: a missing token is FST_DAPR_TOKEN_MISSING, a wrong one FST_DAPR_TOKEN_INVALID', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { method: 'POST', url: '/orders' }, MISSING)
  await expectBoth(t, app, port, { method: 'POST', url: '/orders', headers: { 'dapr-api-token': 'app-token-2' } }, INVALID)
  await expectBoth(t, app, port, { method: 'POST', url: '/orders', headers: WITH_TOKEN }, json({ ok: true }))
})

test('app role: two token header lines are FST_DAPR_TOKEN_DUPLICATE, even when one is valid', async t => {
  const { app, port } = await appServer(t)
  const raw = (a: string, b: string) => `GET /secret HTTP/1.1\r\nHost: x\r\ndapr-api-token: ${a}\r\ndapr-api-token: ${b}\r\nConnection: close\r\n\r\n`
  assertResponse(t, await sendRaw(port, raw(TOKEN, 'other')), DUPLICATE, 'valid first')
  assertResponse(t, await sendRaw(port, raw('other', TOKEN)), DUPLICATE, 'valid second')
  assertResponse(t, await sendRaw(port, raw(TOKEN, TOKEN)), DUPLICATE, 'valid twice')
  assertResponse(t, await viaInject(app, { url: '/secret', headers: { 'dapr-api-token': [TOKEN, 'other'] } }), DUPLICATE, 'inject array')
})

test('app role: HEAD on a protected route is refused with the JSON headers and no body', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { method: 'HEAD', url: '/secret' }, { ...MISSING, body: '' })
  await expectBoth(t, app, port, { method: 'HEAD', url: '/secret', headers: WITH_TOKEN }, { ...json({ secret: true }), body: '' })
})

test('app role: /health-admin is not /healthz (no prefix matching)', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { url: '/health-admin' }, MISSING)
  await expectBoth(t, app, port, { url: '/health-admin', headers: WITH_TOKEN }, json({ admin: true }))
})

test('app role: /%68ealthz is the health route once decoded, so exempt', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { url: '/%68ealthz' }, HEALTHY)
})

test('app role: /healthz/../secret never borrows the health exemption', async t => {
  const { app, port } = await appServer(t)
  // On the wire no route matches; inject folds the dot segment and lands on /secret. Both need the token.
  assertResponse(t, await viaSocket(port, { url: '/healthz/../secret' }), MISSING, 'socket, no token')
  assertResponse(t, await viaSocket(port, { url: '/healthz/../secret', headers: WITH_TOKEN }), notFound('GET', '/healthz/../secret'), 'socket, token')
  assertResponse(t, await viaInject(app, { url: '/healthz/../secret' }), MISSING, 'inject, no token')
  assertResponse(t, await viaInject(app, { url: '/healthz/../secret', headers: WITH_TOKEN }), json({ secret: true }), 'inject, token')
})

test('app role: //healthz and /healthz;x=1 reach no route, so they need a token', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { url: '//healthz' }, MISSING)
  await expectBoth(t, app, port, { url: '//healthz', headers: WITH_TOKEN }, notFound('GET', '//healthz'))
  await expectBoth(t, app, port, { url: '/healthz;x=1' }, MISSING)
  await expectBoth(t, app, port, { url: '/healthz;x=1', headers: WITH_TOKEN }, notFound('GET', '/healthz;x=1'))
})

test('app role: /HEALTHZ needs a token with the default router and is exempt with a case-insensitive one', async t => {
  const strict = await appServer(t)
  await expectBoth(t, strict.app, strict.port, { url: '/HEALTHZ' }, MISSING)
  const loose = await appServer(t, { routerOptions: { caseSensitive: false } })
  await expectBoth(t, loose.app, loose.port, { url: '/HEALTHZ' }, HEALTHY)
  await expectBoth(t, loose.app, loose.port, { method: 'HEAD', url: '/HeAlThZ' }, HEALTHY_HEAD)
  await expectBoth(t, loose.app, loose.port, { url: '/SECRET' }, MISSING)
})

test('app role: /healthz/ is exempt exactly when the router ignores trailing slashes', async t => {
  const strict = await appServer(t)
  await expectBoth(t, strict.app, strict.port, { url: '/healthz/' }, MISSING)
  const loose = await appServer(t, { routerOptions: { ignoreTrailingSlash: true } })
  await expectBoth(t, loose.app, loose.port, { url: '/healthz/' }, HEALTHY)
  await expectBoth(t, loose.app, loose.port, { url: '/secret/' }, MISSING)
})

test('app role: semicolons as a query delimiter keep the health route exempt only when the router says so', async t => {
  const loose = await appServer(t, { routerOptions: { useSemicolonDelimiter: true } as FastifyServerOptions['routerOptions'] })
  await expectBoth(t, loose.app, loose.port, { url: '/healthz;x=1' }, HEALTHY)
  await expectBoth(t, loose.app, loose.port, { url: '/secret;x=/healthz' }, MISSING)
})

test('app role: an unknown route or wrong method is a 401 without a token and a 404 with one', async t => {
  const { app, port } = await appServer(t)
  await expectBoth(t, app, port, { url: '/nope' }, MISSING)
  await expectBoth(t, app, port, { url: '/nope', headers: { 'dapr-api-token': 'bad' } }, INVALID)
  await expectBoth(t, app, port, { url: '/nope', headers: WITH_TOKEN }, notFound('GET', '/nope'))
  await expectBoth(t, app, port, { method: 'DELETE', url: '/healthz' }, MISSING)
  await expectBoth(t, app, port, { method: 'DELETE', url: '/healthz', headers: WITH_TOKEN }, notFound('DELETE', '/healthz'))
})

test('app role: a route opts out with config: { daprTokenAuth: false }, and its automatic HEAD route too', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: TOKEN })
  app.get('/metrics', { config: { daprTokenAuth: false } }, async () => 'metrics')
  app.get('/guarded', { config: { daprTokenAuth: true } }, async () => 'guarded')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/metrics' }, text('metrics'))
  await expectBoth(t, app, port, { method: 'HEAD', url: '/metrics' }, { ...text('metrics'), body: '' })
  await expectBoth(t, app, port, { url: '/guarded' }, MISSING)
  await expectBoth(t, app, port, { url: '/guarded', headers: WITH_TOKEN }, text('guarded'))
})

test('app role: exempt strings, objects and prefixed patterns match the route as registered', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: TOKEN, exempt: ['GET,HEAD /api/status/:probe', { method: 'POST', url: '/hooks' }, ' GET  /ready '] })
  await app.register(async child => {
    child.get('/status/:probe', async request => ({ probe: (request.params as { probe: string }).probe }))
  }, { prefix: '/api' })
  app.post('/hooks', async () => ({ hook: true }))
  app.get('/ready', async () => 'ready')
  app.get('/healthz', async () => 'healthy')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/api/status/live' }, json({ probe: 'live' }))
  await expectBoth(t, app, port, { method: 'HEAD', url: '/api/status/live' }, { ...json({ probe: 'live' }), body: '' })
  await expectBoth(t, app, port, { method: 'POST', url: '/hooks' }, json({ hook: true }))
  await expectBoth(t, app, port, { url: '/ready' }, text('ready'))
  // Listing exemptions replaces the role's defaults.
  await expectBoth(t, app, port, { url: '/healthz' }, MISSING)
})

test('app role: a predicate decides from the matched route and method', async t => {
  const seen: Array<{ method: string, url: string | undefined }> = []
  const app = Fastify()
  await app.register(daprTokenAuth, {
    token: TOKEN,
    exempt: route => { seen.push(route); return route.url === '/open' }
  })
  app.get('/open', async () => 'open')
  app.get('/shut', { config: { daprTokenAuth: false } }, async () => 'shut')
  app.get('/closed', async () => 'closed')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/open' }, text('open'))
  await expectBoth(t, app, port, { url: '/shut' }, text('shut'))
  await expectBoth(t, app, port, { url: '/closed' }, MISSING)
  await expectBoth(t, app, port, { url: '/open/../nope' }, MISSING)
  t.same(seen.slice(0, 2), [{ method: 'GET', url: '/open' }, { method: 'GET', url: '/open' }])
  t.ok(seen.some(route => route.url === undefined), 'unknown routes are asked with url undefined')
})

test('app role: the APP_API_TOKEN env var is read, trimmed, and overridden by `token`', async t => {
  const saved = process.env.APP_API_TOKEN
  process.env.APP_API_TOKEN = '  env-token\n'
  t.teardown(() => { if (saved === undefined) delete process.env.APP_API_TOKEN; else process.env.APP_API_TOKEN = saved })
  const fromEnv = Fastify()
  await fromEnv.register(daprTokenAuth)
  fromEnv.get('/secret', async () => ({ secret: true }))
  const envPort = await start(t, fromEnv)
  await expectBoth(t, fromEnv, envPort, { url: '/secret', headers: { 'dapr-api-token': 'env-token' } }, json({ secret: true }))

  const overridden = Fastify()
  await overridden.register(daprTokenAuth, { token: TOKEN })
  overridden.get('/secret', async () => ({ secret: true }))
  const port = await start(t, overridden)
  await expectBoth(t, overridden, port, { url: '/secret', headers: { 'dapr-api-token': 'env-token' } }, INVALID)
  await expectBoth(t, overridden, port, { url: '/secret', headers: WITH_TOKEN }, json({ secret: true }))

  const custom = Fastify()
  process.env.MY_TOKEN = 'custom-env'
  t.teardown(() => { delete process.env.MY_TOKEN })
  await custom.register(daprTokenAuth, { envVar: 'MY_TOKEN' })
  custom.get('/secret', async () => ({ secret: true }))
  const customPort = await start(t, custom)
  await expectBoth(t, custom, customPort, { url: '/secret', headers: { 'dapr-api-token': 'custom-env' } }, json({ secret: true }))
})

test('app role with errorResponse: \'daprd\' answers the daprd text refusal', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: TOKEN, errorResponse: 'daprd' })
  app.get('/secret', async () => ({ secret: true }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/secret' }, {
    statusCode: 401,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': '18' },
    body: 'invalid api token\n'
  })
})
