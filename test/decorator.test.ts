import { test } from 'tap'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyAuth from '@fastify/auth'
import daprTokenAuth, { fingerprint } from '../lib/index.js'
import { DAPRD_REFUSAL, DUPLICATE, INVALID, MISSING, expectBoth, json, start, text } from './helpers/exchange.js'
import { sendRaw } from './helpers/http.js'

const WITH_TOKEN = { 'dapr-api-token': 'tok' }
const CREDENTIAL = { kind: 'static', index: 0, fingerprint: fingerprint('tok') }

test('addHook: false protects nothing by itself; verifyDaprToken on one route protects that route', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok', addHook: false })
  app.get('/open', async request => ({ credential: request.daprToken, header: request.headers['dapr-api-token'] ?? null }))
  app.get('/guarded', { onRequest: app.verifyDaprToken }, async request => ({ credential: request.daprToken, header: request.headers['dapr-api-token'] ?? null }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/open' }, json({ credential: null, header: null }))
  await expectBoth(t, app, port, { url: '/open', headers: WITH_TOKEN }, json({ credential: null, header: 'tok' }))
  await expectBoth(t, app, port, { url: '/guarded' }, MISSING)
  await expectBoth(t, app, port, { url: '/guarded', headers: { 'dapr-api-token': 'bad' } }, INVALID)
  await expectBoth(t, app, port, { url: '/guarded', headers: WITH_TOKEN }, json({ credential: CREDENTIAL, header: null }))
  const twice = 'GET /guarded HTTP/1.1\r\nHost: x\r\ndapr-api-token: tok\r\ndapr-api-token: tok\r\nConnection: close\r\n\r\n'
  const { statusCode, body } = await sendRaw(port, twice)
  t.same({ statusCode, body }, { statusCode: 401, body: DUPLICATE.body })
})

test('verifyDaprToken never replies itself: in the sidecar role it still calls done(error)', async t => {
  // The decorator is for composition (route hooks, @fastify/auth), so the error handler answers.
  const app = Fastify()
  await app.register(daprTokenAuth, { role: 'sidecar', token: 'tok', addHook: false })
  app.setErrorHandler(async (error: Error & { code?: string, statusCode?: number }, _request, reply) =>
    await reply.code(error.statusCode ?? 500).send({ handled: error.code }))
  app.get('/guarded', { onRequest: app.verifyDaprToken }, async () => 'ok')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/guarded' }, { ...json({ handled: 'FST_DAPR_TOKEN_MISSING' }), statusCode: 401 })
  await expectBoth(t, app, port, { url: '/guarded', headers: WITH_TOKEN }, text('ok'))
})

test('verifyDaprToken applies no exemptions: the route that uses it chose to be checked', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok', addHook: false })
  app.get('/healthz', { onRequest: app.verifyDaprToken, config: { daprTokenAuth: false } }, async () => 'healthy')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/healthz' }, MISSING)
  await expectBoth(t, app, port, { url: '/healthz', headers: WITH_TOKEN }, text('healthy'))
})

test('verifyDaprToken composes with @fastify/auth: or-relation with another strategy', async t => {
  const app = Fastify()
  await app.register(fastifyAuth)
  await app.register(daprTokenAuth, { token: 'tok', addHook: false })
  function adminKey (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
    done(request.headers['x-admin-key'] === 'admin' ? undefined : new Error('not admin'))
  }
  app.get('/either', { onRequest: app.auth([app.verifyDaprToken, adminKey]) }, async request => ({ credential: request.daprToken }))
  app.get('/both', { onRequest: app.auth([app.verifyDaprToken, adminKey], { relation: 'and' }) }, async request => ({ credential: request.daprToken }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/either', headers: WITH_TOKEN }, json({ credential: CREDENTIAL }))
  await expectBoth(t, app, port, { url: '/either', headers: { 'x-admin-key': 'admin' } }, json({ credential: null }))
  // @fastify/auth answers with the last strategy's error when all fail.
  const lastError = '{"statusCode":401,"error":"Unauthorized","message":"not admin"}'
  await expectBoth(t, app, port, { url: '/either' }, {
    statusCode: 401,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(lastError.length) },
    body: lastError
  })
  await expectBoth(t, app, port, { url: '/both', headers: { ...WITH_TOKEN, 'x-admin-key': 'admin' } }, json({ credential: CREDENTIAL }))
  await expectBoth(t, app, port, { url: '/both', headers: { 'x-admin-key': 'admin' } }, MISSING)
})

test('verifyDaprToken is also there when the global hook is on, and checks again harmlessly', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok', stripHeader: false })
  app.get('/twice', { onRequest: app.verifyDaprToken }, async request => ({ credential: request.daprToken }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/twice', headers: WITH_TOKEN }, json({ credential: CREDENTIAL }))
  await expectBoth(t, app, port, { url: '/twice' }, MISSING)
})

test('the sidecar role keeps the daprd text refusal for the global hook', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { role: 'sidecar', token: 'tok' })
  app.get('/v1.0/metadata', async () => ({ id: 'x' }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/v1.0/metadata' }, DAPRD_REFUSAL)
})
