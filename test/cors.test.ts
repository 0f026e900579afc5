import { test } from 'tap'
import Fastify from 'fastify'
import cors from '@fastify/cors'
import daprTokenAuth from '../lib/index.js'
import { DAPRD_REFUSAL, MISSING, expectBoth, json, start } from './helpers/exchange.js'

const ORIGIN = 'http://127.0.0.1:8080'
const PREFLIGHT = { 'access-control-request-method': 'POST', origin: ORIGIN }

test('@fastify/cors registered first: a preflight is answered with no token, the real request still needs one', async t => {
  const app = Fastify()
  await app.register(cors, { origin: ORIGIN })
  await app.register(daprTokenAuth, { token: 'tok' })
  app.post('/orders', async () => ({ ok: true }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { method: 'OPTIONS', url: '/orders', headers: PREFLIGHT }, {
    statusCode: 204,
    headers: {
      vary: 'Access-Control-Request-Headers',
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': 'GET,HEAD,POST',
      'content-length': '0'
    },
    body: ''
  })
  const corsHeaders = { 'access-control-allow-origin': ORIGIN }
  await expectBoth(t, app, port, { method: 'POST', url: '/orders', headers: { origin: ORIGIN } },
    { ...MISSING, headers: { ...corsHeaders, ...MISSING.headers } })
  await expectBoth(t, app, port, { method: 'POST', url: '/orders', headers: { origin: ORIGIN, 'dapr-api-token': 'tok' } },
    { ...json({ ok: true }), headers: { ...corsHeaders, ...json({ ok: true }).headers } })
})

test('@fastify/cors registered first, sidecar role: preflight open, daprd refusal for the real request', async t => {
  const app = Fastify()
  await app.register(cors, { origin: true })
  await app.register(daprTokenAuth, { role: 'sidecar', token: 'tok' })
  app.post('/v1.0/state/store', async (_request, reply) => reply.code(204).send())
  const port = await start(t, app)
  const preflight = await app.inject({ method: 'OPTIONS', url: '/v1.0/state/store', headers: PREFLIGHT })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], ORIGIN)
  await expectBoth(t, app, port, { method: 'POST', url: '/v1.0/state/store' }, { ...DAPRD_REFUSAL, headers: { vary: 'Origin', ...DAPRD_REFUSAL.headers } })
})

test('@fastify/cors registered after the plugin: the preflight is refused, so order matters', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok' })
  await app.register(cors, { origin: ORIGIN })
  app.post('/orders', async () => ({ ok: true }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { method: 'OPTIONS', url: '/orders', headers: PREFLIGHT }, MISSING)
})
