import { test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint } from '../lib/index.js'
import { listen, send } from './helpers/http.js'

test('a valid token reaches the handler, a wrong one is refused, over a real socket', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 's3cret' })
  app.get('/hello', async request => ({ token: request.headers['dapr-api-token'] ?? null, credential: request.daprToken }))
  t.teardown(() => app.close())
  const { port } = await listen(app)

  const ok = await send(port, 'GET', '/hello', { 'dapr-api-token': 's3cret' })
  t.equal(ok.statusCode, 200)
  t.same(JSON.parse(ok.body), { token: null, credential: { kind: 'static', index: 0, fingerprint: fingerprint('s3cret') } })

  const bad = await send(port, 'GET', '/hello', { 'dapr-api-token': 'nope' })
  t.equal(bad.statusCode, 401)
  t.same(JSON.parse(bad.body), { statusCode: 401, code: 'FST_DAPR_TOKEN_INVALID', error: 'Unauthorized', message: 'Invalid Dapr API token' })
})
