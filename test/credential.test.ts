import { test } from 'tap'
import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint, type DaprTokenCredential } from '../lib/index.js'
import { expectBoth, json, start } from './helpers/exchange.js'

test('request.daprToken names the matched key by kind, index and fingerprint, never the token', async t => {
  const tokens = ['primary-token-value', 'secondary-token-value']
  const seen: Array<DaprTokenCredential | null> = []
  const app = Fastify()
  await app.register(daprTokenAuth, { token: tokens })
  app.get('/who', async request => { seen.push(request.daprToken); return { credential: request.daprToken } })
  app.get('/healthz', async request => { seen.push(request.daprToken); return { credential: request.daprToken } })
  app.get('/open', { config: { daprTokenAuth: false } }, async request => ({ credential: request.daprToken }))
  const port = await start(t, app)

  for (const [index, token] of tokens.entries()) {
    const expected = { kind: 'static', index, fingerprint: createHash('sha256').update(token).digest('hex').slice(0, 12) }
    await expectBoth(t, app, port, { url: '/who', headers: { 'dapr-api-token': token } }, json({ credential: expected }))
    t.equal(fingerprint(token), expected.fingerprint, 'the exported fingerprint() agrees')
  }
  for (const credential of seen) {
    t.same(Object.keys(credential ?? {}).sort(), ['fingerprint', 'index', 'kind'], 'exactly these fields')
    t.ok(Object.isFrozen(credential), 'frozen: a handler cannot rewrite it for the next request')
    for (const token of tokens) t.notOk(JSON.stringify(credential).includes(token), 'no token inside')
  }
  // Exempt and opted-out routes, and a token sent to them, leave it null.
  await expectBoth(t, app, port, { url: '/healthz' }, json({ credential: null }))
  await expectBoth(t, app, port, { url: '/healthz', headers: { 'dapr-api-token': 'wrong' } }, json({ credential: null }))
  await expectBoth(t, app, port, { url: '/open' }, json({ credential: null }))
})

test('a valid token on an exempt route is still verified and named', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok' })
  app.get('/healthz', async request => ({ credential: request.daprToken, header: request.headers['dapr-api-token'] ?? null }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/healthz', headers: { 'dapr-api-token': 'tok' } },
    json({ credential: { kind: 'static', index: 0, fingerprint: fingerprint('tok') }, header: null }))
})
