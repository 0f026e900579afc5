import { test } from 'tap'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyAuth from '@fastify/auth'
import daprTokenAuth, { fingerprint } from '../lib/index.js'
import { sendRaw } from './helpers/http.js'
import { DUPLICATE, assertResponse, expectBoth, json, start } from './helpers/exchange.js'

// Behaviours a reviewer broke over real sockets; each test is named after what must hold.

test('verifyDaprToken on a route lets through a request the global hook already verified', async t => {
  const app = Fastify()
  await app.register(fastifyAuth)
  await app.register(daprTokenAuth, { token: 'T' })
  const userAuth = (_request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => done(new Error('no user'))
  app.get('/route-hook', { onRequest: app.verifyDaprToken }, async request => ({ credential: request.daprToken }))
  app.post('/orders', { config: { daprTokenAuth: false }, preHandler: app.auth([app.verifyDaprToken, userAuth]) },
    async request => ({ credential: request.daprToken }))
  const port = await start(t, app)
  const ok = json({ credential: { kind: 'static', index: 0, fingerprint: fingerprint('T') } })
  await expectBoth(t, app, port, { url: '/route-hook', headers: { 'dapr-api-token': 'T' } }, ok)
  await expectBoth(t, app, port, { method: 'POST', url: '/orders', headers: { 'dapr-api-token': 'T' } }, ok)
})

test('a second line of a header Node keeps only once (authorization) is refused as a duplicate', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'Bearer abc', header: 'authorization' })
  app.get('/x', async () => 'reached')
  const port = await start(t, app)
  const raw = (lines: string[]) => `GET /x HTTP/1.1\r\nHost: x\r\n${lines.map(l => `${l}\r\n`).join('')}Connection: close\r\n\r\n`
  assertResponse(t, await sendRaw(port, raw(['Authorization: Bearer abc', 'Authorization: Bearer evil'])),
    { ...DUPLICATE, headers: { ...DUPLICATE.headers } }, 'valid first, other second')
  assertResponse(t, await sendRaw(port, raw(['Authorization: Bearer abc', 'Authorization: Bearer abc'])),
    { ...DUPLICATE, headers: { ...DUPLICATE.headers } }, 'the valid value twice')
  const one = await sendRaw(port, raw(['Authorization: Bearer abc']))
  t.equal(one.statusCode, 200)
  t.equal(one.body, 'reached')
})

test('on an exempt route the handler never sees a token the check let through unverified', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'REAL-SECRET' })
  app.get('/healthz', async request => ({ header: request.headers['dapr-api-token'] ?? null, credential: request.daprToken }))
  const port = await start(t, app)
  const raw = 'GET /healthz HTTP/1.1\r\nHost: x\r\ndapr-api-token: REAL-SECRET\r\ndapr-api-token: REAL-SECRET\r\nConnection: close\r\n\r\n'
  assertResponse(t, await sendRaw(port, raw), json({ header: null, credential: null }), 'duplicated valid token')
  await expectBoth(t, app, port, { url: '/healthz', headers: { 'dapr-api-token': 'wrong' } }, json({ header: null, credential: null }))
})

test('on an exempt route a key source failure does not leave the token for the handler', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { keyResolver: () => { throw new Error('down') }, logLevel: 'silent' })
  app.get('/healthz', async request => ({ header: request.headers['dapr-api-token'] ?? null }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/healthz', headers: { 'dapr-api-token': 'T' } }, json({ header: null }))
})

test('request.daprToken.index is the position in the configured list, blank entries included', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: ['', 'old', ' ', 'older'] })
  app.get('/x', async request => request.daprToken)
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/x', headers: { 'dapr-api-token': 'old' } }, json({ kind: 'static', index: 1, fingerprint: fingerprint('old') }))
  await expectBoth(t, app, port, { url: '/x', headers: { 'dapr-api-token': 'older' } }, json({ kind: 'static', index: 3, fingerprint: fingerprint('older') }))
})
