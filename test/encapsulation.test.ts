import { test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint } from '../lib/index.js'
import { MISSING, INVALID, expectBoth, json, notFound, start, text } from './helpers/exchange.js'

const credential = (token: string) => ({ credential: { kind: 'static', index: 0, fingerprint: fingerprint(token) } })

test('registered at the root, it protects routes of encapsulated child plugins and unknown routes', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'tok' })
  await app.register(async child => {
    child.get('/inner', async request => ({ credential: request.daprToken }))
    await child.register(async grandchild => {
      grandchild.get('/deep', async () => 'deep')
    })
  }, { prefix: '/child' })
  app.get('/healthz', async () => 'healthy')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/child/inner' }, MISSING)
  await expectBoth(t, app, port, { url: '/child/inner', headers: { 'dapr-api-token': 'tok' } }, json(credential('tok')))
  await expectBoth(t, app, port, { url: '/child/deep' }, MISSING)
  await expectBoth(t, app, port, { url: '/child/nope' }, MISSING)
  await expectBoth(t, app, port, { url: '/healthz' }, text('healthy'))
})

test('registered inside a child plugin, it protects that child (and its children) only', async t => {
  const app = Fastify()
  await app.register(async child => {
    await child.register(daprTokenAuth, { token: 'tok' })
    child.get('/inner', async request => ({ credential: request.daprToken }))
    await child.register(async grandchild => { grandchild.get('/deep', async () => 'deep') })
  }, { prefix: '/private' })
  await app.register(async sibling => { sibling.get('/open', async () => 'open') }, { prefix: '/public' })
  app.get('/root', async () => 'root')
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/private/inner' }, MISSING)
  await expectBoth(t, app, port, { url: '/private/inner', headers: { 'dapr-api-token': 'tok' } }, json(credential('tok')))
  await expectBoth(t, app, port, { url: '/private/deep' }, MISSING)
  await expectBoth(t, app, port, { url: '/public/open' }, text('open'))
  await expectBoth(t, app, port, { url: '/root' }, text('root'))
  // Unknown routes go to the root's 404 handler, outside the child: a plain 404, no token asked.
  await expectBoth(t, app, port, { url: '/private/nope' }, notFound('GET', '/private/nope'))
})

test('sibling plugins can each register it with their own token', async t => {
  const app = Fastify()
  await app.register(async a => {
    await a.register(daprTokenAuth, { token: 'token-a' })
    a.get('/x', async request => ({ credential: request.daprToken }))
  }, { prefix: '/a' })
  await app.register(async b => {
    await b.register(daprTokenAuth, { token: 'token-b', header: 'x-b-token' })
    b.get('/x', async request => ({ credential: request.daprToken }))
  }, { prefix: '/b' })
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/a/x', headers: { 'dapr-api-token': 'token-a' } }, json(credential('token-a')))
  await expectBoth(t, app, port, { url: '/a/x', headers: { 'dapr-api-token': 'token-b' } }, INVALID)
  await expectBoth(t, app, port, { url: '/b/x', headers: { 'x-b-token': 'token-b' } }, json(credential('token-b')))
  await expectBoth(t, app, port, { url: '/b/x', headers: { 'dapr-api-token': 'token-a' } }, MISSING)
})

test('registering it again under an instance that already has it rejects ready() with a clear error (regression)', async t => {
  // fastify-plugin shares the decorators with the parent, so the second decorateRequest() threw
  // synchronously inside the plugin and crashed the process with an uncaught exception.
  const app = Fastify()
  t.teardown(() => app.close().catch(() => {}))
  await app.register(daprTokenAuth, { token: 'outer' })
  app.register(async child => { await child.register(daprTokenAuth, { token: 'inner' }) })
  await t.rejects(async () => { await app.ready() }, {
    code: 'FST_DAPR_TOKEN_OPTIONS',
    message: 'Invalid fastify-dapr-token-auth options: the plugin is already registered on this instance or a parent of it: register it once per encapsulation context (sibling plugins may each have their own)'
  })
})
