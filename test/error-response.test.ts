import { test, type Test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { DaprTokenMissingError, DaprTokenInvalidError, type ErrorResponseFunction } from '../lib/index.js'
import { sendRaw } from './helpers/http.js'
import { assertResponse, expectBoth, json, start, text } from './helpers/exchange.js'

async function withErrorResponse (t: Test, errorResponse: ErrorResponseFunction, role: 'app' | 'sidecar' = 'app') {
  const app = Fastify()
  await app.register(daprTokenAuth, { role, token: 'tok', errorResponse })
  app.get('/secret', async () => ({ secret: true }))
  const port = await start(t, app)
  return { app, port }
}

test('errorResponse function: its return value is the body of a 401, for every reason', async t => {
  const seen: unknown[] = []
  const { app, port } = await withErrorResponse(t, (error, request) => {
    seen.push(error instanceof DaprTokenMissingError || error instanceof DaprTokenInvalidError)
    return { denied: error.code, path: request.url }
  })
  const body = (code: string) => ({ ...json({ denied: code, path: '/secret' }), statusCode: 401 })
  await expectBoth(t, app, port, { url: '/secret' }, body('FST_DAPR_TOKEN_MISSING'))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'bad' } }, body('FST_DAPR_TOKEN_INVALID'))
  assertResponse(t, await sendRaw(port, 'GET /secret HTTP/1.1\r\nHost: x\r\ndapr-api-token: tok\r\ndapr-api-token: tok\r\nConnection: close\r\n\r\n'),
    body('FST_DAPR_TOKEN_DUPLICATE'), 'duplicate')
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'tok' } }, json({ secret: true }))
  t.ok(seen.slice(0, 4).every(Boolean), 'the error is the exported class')
})

test('errorResponse function: it may set the status and headers, or send the reply itself', async t => {
  const custom = await withErrorResponse(t, (_error, _request, reply) => {
    reply.code(403).header('www-authenticate', 'DaprToken')
    return 'forbidden'
  })
  await expectBoth(t, custom.app, custom.port, { url: '/secret' }, { ...text('forbidden', 403), headers: { 'www-authenticate': 'DaprToken', ...text('forbidden').headers } })
  const sending = await withErrorResponse(t, (_error, _request, reply) => { reply.code(418).send('teapot') })
  await expectBoth(t, sending.app, sending.port, { url: '/secret' }, text('teapot', 418))
})

test('errorResponse async function: the resolved value is the body (regression)', async t => {
  // The promise itself was sent, which Fastify serialised as `{}`.
  const { app, port } = await withErrorResponse(t, async error => await Promise.resolve({ denied: error.code }))
  await expectBoth(t, app, port, { url: '/secret' }, { ...json({ denied: 'FST_DAPR_TOKEN_MISSING' }), statusCode: 401 })
  const sends = await withErrorResponse(t, async (_error, _request, reply) => { await reply.code(401).send('sent') })
  await expectBoth(t, sends.app, sends.port, { url: '/secret' }, text('sent', 401))
})

test('errorResponse function that throws or rejects: still a 401, never a pass', async t => {
  const throwing = await withErrorResponse(t, () => { throw new Error('custom failure') })
  const expected = { ...json({ statusCode: 401, error: 'Unauthorized', message: 'custom failure' }), statusCode: 401 }
  await expectBoth(t, throwing.app, throwing.port, { url: '/secret' }, expected)
  const rejecting = await withErrorResponse(t, async () => { throw new Error('custom failure') })
  await expectBoth(t, rejecting.app, rejecting.port, { url: '/secret' }, expected)
  const sentThenRejected = await withErrorResponse(t, async (_error, _request, reply) => {
    await reply.code(401).send('sent first')
    throw new Error('after sending')
  })
  await expectBoth(t, sentThenRejected.app, sentThenRejected.port, { url: '/secret' }, text('sent first', 401))
})

test('errorResponse function overrides the sidecar role\'s daprd text', async t => {
  const { app, port } = await withErrorResponse(t, () => 'nope\n', 'sidecar')
  await expectBoth(t, app, port, { url: '/secret' }, text('nope\n', 401))
})
