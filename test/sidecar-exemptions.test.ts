import { test, type Test } from 'tap'
import Fastify, { type FastifyServerOptions } from 'fastify'
import daprTokenAuth from '../lib/index.js'
import { sendRaw } from './helpers/http.js'
import { DAPRD_REFUSAL, DAPRD_REFUSAL_HEAD, INVALID, MISSING, NO_CONTENT, expectBoth, assertResponse, viaInject, viaSocket, json, notFound, start } from './helpers/exchange.js'

const TOKEN = 'sidecar-token-1'
const WITH_TOKEN = { 'dapr-api-token': TOKEN }

/** A Dapr-compatible API with daprd's routes, protected in the `sidecar` role. */
async function sidecar (t: Test, serverOptions: FastifyServerOptions = {}) {
  const app = Fastify(serverOptions)
  await app.register(daprTokenAuth, { role: 'sidecar', token: TOKEN })
  app.get('/v1.0/healthz', async (_request, reply) => reply.code(204).send())
  app.get('/v1.0/healthz/outbound', async (_request, reply) => reply.code(204).send())
  app.put('/v1.0/healthz', async () => ({ put: true }))
  app.post('/v1.0/healthz/outbound', async () => ({ post: true }))
  app.get('/v1.0/metadata', async () => ({ id: 'fake' }))
  app.get('/v1.0/invoke/:app/method/*', async request => ({ invoked: (request.params as Record<string, string>)['*'] }))
  app.get('/secret', async () => ({ secret: true }))
  const port = await start(t, app)
  return { app, port }
}

test('daprd exempts GET /v1.0/healthz and GET /v1.0/healthz/outbound, with no token', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/healthz' }, NO_CONTENT)
  await expectBoth(t, app, port, { url: '/v1.0/healthz/outbound' }, NO_CONTENT)
})

test('a wrong or duplicated token on an exempt route is ignored, as daprd skips the check there', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/healthz', headers: { 'dapr-api-token': 'wrong' } }, NO_CONTENT)
  assertResponse(t, await sendRaw(port, 'GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\ndapr-api-token: a\r\ndapr-api-token: b\r\nConnection: close\r\n\r\n'),
    { statusCode: 204, headers: {}, body: '' }, 'two header lines on healthz')
})

test('PUT /v1.0/healthz is refused: the exemption is GET only, even where the route exists', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { method: 'PUT', url: '/v1.0/healthz' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { method: 'POST', url: '/v1.0/healthz/outbound' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { method: 'PUT', url: '/v1.0/healthz', headers: WITH_TOKEN }, json({ put: true }))
})

test('HEAD /v1.0/healthz is refused without a token (daprd exempts GET only) and passes with one', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { method: 'HEAD', url: '/v1.0/healthz' }, DAPRD_REFUSAL_HEAD)
  // Fastify's automatic HEAD route answers the GET handler's 204 with an explicit zero length.
  await expectBoth(t, app, port, { method: 'HEAD', url: '/v1.0/healthz', headers: WITH_TOKEN }, { ...NO_CONTENT, headers: { 'content-length': '0' } })
})

test('HEAD on a protected route is refused without a token, with headers and no body', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { method: 'HEAD', url: '/v1.0/metadata' }, DAPRD_REFUSAL_HEAD)
  await expectBoth(t, app, port, { method: 'HEAD', url: '/v1.0/metadata', headers: WITH_TOKEN }, { ...json({ id: 'fake' }), body: '' })
})

test('/v1.0/invoke/x/method/healthz is not exempt: only the registered pattern counts', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/invoke/x/method/healthz' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/invoke/x/method/healthz', headers: WITH_TOKEN }, json({ invoked: 'healthz' }))
})

test('a query string naming healthz exempts nothing: /v1.0/metadata?x=/v1.0/healthz', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/metadata?x=/v1.0/healthz' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/metadata' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/metadata?x=/v1.0/healthz', headers: WITH_TOKEN }, json({ id: 'fake' }))
})

test('a query string on the health route keeps it exempt, as daprd checks the path only', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/healthz?probe=1' }, NO_CONTENT)
})

test('/v1.0/%68ealthz is the health route once decoded, so exempt (daprd decodes too)', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/%68ealthz' }, NO_CONTENT)
  await expectBoth(t, app, port, { url: '/v1.0/%68ealthz/outbound' }, NO_CONTENT)
})

test('/v1.0/HEALTHZ is refused by the default case-sensitive router, as in daprd', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/V1.0/HEALTHZ' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/V1.0/HEALTHZ', headers: WITH_TOKEN }, notFound('GET', '/V1.0/HEALTHZ'))
})

test('/v1.0/HEALTHZ is exempt when a case-insensitive router sends it to the health route', async t => {
  const { app, port } = await sidecar(t, { routerOptions: { caseSensitive: false } })
  await expectBoth(t, app, port, { url: '/V1.0/HEALTHZ' }, NO_CONTENT)
  await expectBoth(t, app, port, { url: '/V1.0/METADATA' }, DAPRD_REFUSAL)
})

test('a trailing slash is exempt only when the router ignores trailing slashes', async t => {
  const strict = await sidecar(t)
  await expectBoth(t, strict.app, strict.port, { url: '/v1.0/healthz/' }, DAPRD_REFUSAL)
  const loose = await sidecar(t, { routerOptions: { ignoreTrailingSlash: true } })
  await expectBoth(t, loose.app, loose.port, { url: '/v1.0/healthz/' }, NO_CONTENT)
  await expectBoth(t, loose.app, loose.port, { url: '/v1.0/metadata/' }, DAPRD_REFUSAL)
})

test('//v1.0/healthz and /v1.0/healthz;x=1 reach no route, so they are refused without a token', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '//v1.0/healthz' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/healthz;x=1' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/healthz;x=1', headers: WITH_TOKEN }, notFound('GET', '/v1.0/healthz;x=1'))
})

test('/v1.0/healthz/../secret reaches no route (the wire folds no dot segments): refused without a token, 404 with one', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/healthz/../secret' }, DAPRD_REFUSAL)
  // inject folds the dot segment before routing (lands on /v1.0/secret); the wire does not.
  assertResponse(t, await viaSocket(port, { url: '/v1.0/healthz/../secret', headers: WITH_TOKEN }), notFound('GET', '/v1.0/healthz/../secret'), 'socket, token')
  assertResponse(t, await viaInject(app, { url: '/v1.0/healthz/../secret', headers: WITH_TOKEN }), notFound('GET', '/v1.0/secret'), 'inject, token')
  await expectBoth(t, app, port, { url: '/v1.0/healthz/%2e%2e/secret' }, DAPRD_REFUSAL)
})

test('an unknown route or a wrong method is refused without a token (no enumeration) and is a 404 with one', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/v1.0/nothing-here' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/nothing-here', headers: WITH_TOKEN }, notFound('GET', '/v1.0/nothing-here'))
  await expectBoth(t, app, port, { method: 'DELETE', url: '/v1.0/healthz' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { method: 'DELETE', url: '/v1.0/healthz', headers: WITH_TOKEN }, notFound('DELETE', '/v1.0/healthz'))
})

test('missing, wrong and empty tokens all get daprd\'s one refusal', async t => {
  const { app, port } = await sidecar(t)
  await expectBoth(t, app, port, { url: '/secret' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'wrong' } }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': '' } }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/secret', headers: WITH_TOKEN }, json({ secret: true }))
})

test('exempt: [] removes daprd\'s defaults', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { role: 'sidecar', token: TOKEN, exempt: [] })
  app.get('/v1.0/healthz', async (_request, reply) => reply.code(204).send())
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/v1.0/healthz' }, DAPRD_REFUSAL)
  await expectBoth(t, app, port, { url: '/v1.0/healthz', headers: WITH_TOKEN }, NO_CONTENT)
})

test('the sidecar role reads DAPR_API_TOKEN', async t => {
  const saved = process.env.DAPR_API_TOKEN
  process.env.DAPR_API_TOKEN = 'from-env\n'
  t.teardown(() => { if (saved === undefined) delete process.env.DAPR_API_TOKEN; else process.env.DAPR_API_TOKEN = saved })
  const app = Fastify()
  await app.register(daprTokenAuth, { role: 'sidecar' })
  app.get('/v1.0/metadata', async () => ({ id: 'fake' }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/v1.0/metadata', headers: { 'dapr-api-token': 'from-env' } }, json({ id: 'fake' }))
  await expectBoth(t, app, port, { url: '/v1.0/metadata', headers: WITH_TOKEN }, DAPRD_REFUSAL)
})

test('the sidecar role with errorResponse: \'fastify\' answers Fastify JSON errors instead of the daprd text', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { role: 'sidecar', token: TOKEN, errorResponse: 'fastify' })
  app.get('/v1.0/healthz', async (_request, reply) => reply.code(204).send())
  app.get('/v1.0/metadata', async () => ({ id: 'fake' }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/v1.0/metadata' }, MISSING)
  await expectBoth(t, app, port, { url: '/v1.0/metadata', headers: { 'dapr-api-token': 'wrong' } }, INVALID)
  await expectBoth(t, app, port, { url: '/v1.0/healthz' }, NO_CONTENT)
})
