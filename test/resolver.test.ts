import { test, type Test } from 'tap'
import Fastify, { type FastifyRequest } from 'fastify'
import createError from '@fastify/error'
import daprTokenAuth, { fingerprint, type KeyResolver } from '../lib/index.js'
import { captureLogs } from './helpers/logs.js'
import { DAPRD_REFUSAL, INVALID, MISSING, expectBoth, json, jsonError, start, text } from './helpers/exchange.js'

const UNAVAILABLE = jsonError(500, 'FST_DAPR_TOKEN_RESOLVER_FAILED', 'Internal Server Error', 'Dapr API token verification is unavailable')

function credential (token: string, index = 0) {
  return json({ credential: { kind: 'static', index, fingerprint: fingerprint(token) } })
}

async function withResolver (t: Test, keyResolver: KeyResolver, role: 'app' | 'sidecar' = 'app') {
  const logs = captureLogs()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(daprTokenAuth, { role, keyResolver })
  app.get('/healthz', async () => 'healthy')
  app.get('/v1.0/healthz', async () => 'healthy')
  app.get('/secret', async request => ({ credential: request.daprToken }))
  const port = await start(t, app)
  return { app, port, logs }
}

test('a synchronous resolver is asked per request and its tokens are accepted', async t => {
  let calls = 0
  const keys = ['one', 'two']
  const { app, port } = await withResolver(t, request => { calls++; t.equal(typeof request.headers, 'object'); return keys })
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'two' } }, credential('two', 1))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'three' } }, INVALID)
  await expectBoth(t, app, port, { url: '/secret' }, MISSING)
  t.equal(calls, 4, 'asked once per presented token, never for a missing one')
})

test('a resolver returning a single string works', async t => {
  const { app, port } = await withResolver(t, () => ' single\n')
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'single' } }, credential('single'))
})

test('an asynchronous resolver works, and rotates when it returns new tokens', async t => {
  let current: readonly string[] = ['old']
  const { app, port } = await withResolver(t, async () => await Promise.resolve(current))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'old' } }, credential('old'))
  current = ['new', 'old']
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'new' } }, credential('new'))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'old' } }, credential('old', 1))
  current = ['new']
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'old' } }, INVALID)
})

test('a resolver that changes its array in place is seen changing (regression)', async t => {
  // The prepared key set was cached by array identity: a resolver that pushed a new token into the
  // array it returned kept being checked against the old keys.
  const keys = ['first']
  const { app, port } = await withResolver(t, () => keys)
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'first' } }, credential('first'))
  keys.push('second')
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'second' } }, credential('second', 1))
  keys.splice(0, 1)
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'first' } }, INVALID)
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'second' } }, credential('second', 0))
})

test('a throwing resolver gives a generic 500, logged at error, with no internals in the reply', async t => {
  const { app, port, logs } = await withResolver(t, () => { throw new Error('vault at 10.0.0.7 said no') })
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
  const failures = logs.records().filter(record => record.msg === 'Dapr API token key source failed')
  t.equal(failures.length, 2)
  t.equal(failures[0]?.level, 50, 'logged at error')
  t.match(failures[0], { err: { message: 'vault at 10.0.0.7 said no' } }, 'the cause is in the log, for the operator')
})

test('a rejecting resolver gives the same generic 500', async t => {
  const { app, port } = await withResolver(t, async () => { throw new Error('timeout reading /var/run/secrets') })
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
})

test('a resolver failure in the sidecar role is the same generic 500, not the daprd text', async t => {
  const { app, port } = await withResolver(t, () => { throw new Error('down') }, 'sidecar')
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
  await expectBoth(t, app, port, { url: '/secret' }, DAPRD_REFUSAL)
})

test('a resolver returning no keys is a server fault (500, FST_DAPR_TOKEN_NO_KEYS logged), never a pass', async t => {
  for (const empty of [[], '', '  \n', ['', ' ']] as const) {
    const { app, port, logs } = await withResolver(t, () => empty)
    await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
    const failure = logs.records().find(record => record.msg === 'Dapr API token key source failed')
    t.match(failure, { level: 50, err: { code: 'FST_DAPR_TOKEN_NO_KEYS' } }, JSON.stringify(empty))
  }
  const async = await withResolver(t, async () => [])
  await expectBoth(t, async.app, async.port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
})

test('non-string entries in a resolver\'s list are skipped', async t => {
  const { app, port } = await withResolver(t, (() => [42, 'tok', null]) as unknown as KeyResolver)
  // The index stays the token's position in the list the resolver returned.
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'tok' } }, credential('tok', 1))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': '42' } }, INVALID)
})

test('a resolver returning something that is not tokens is a 500, never a pass', async t => {
  const { app, port } = await withResolver(t, (() => null) as unknown as KeyResolver)
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
})

test('a failing resolver does not block exempt routes, with or without a token', async t => {
  const { app, port } = await withResolver(t, () => { throw new Error('down') })
  await expectBoth(t, app, port, { url: '/healthz' }, text('healthy'))
  await expectBoth(t, app, port, { url: '/healthz', headers: { 'dapr-api-token': 'anything' } }, text('healthy'))
  const rejecting = await withResolver(t, async () => { throw new Error('down') })
  await expectBoth(t, rejecting.app, rejecting.port, { url: '/healthz', headers: { 'dapr-api-token': 'anything' } }, text('healthy'))
})

test('a key source\'s own FST_DAPR_TOKEN_* 503 passes through as it is', async t => {
  const Unavailable = createError('FST_DAPR_TOKEN_KEYS_UNAVAILABLE', 'Dapr API token keys are not loaded yet', 503)
  const { app, port } = await withResolver(t, () => { throw new Unavailable() })
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } },
    jsonError(503, 'FST_DAPR_TOKEN_KEYS_UNAVAILABLE', 'Service Unavailable', 'Dapr API token keys are not loaded yet'))
  // Anything else, even a 503 of another library, is masked.
  const Other = createError('FST_OTHER', 'internal detail', 503)
  const other = await withResolver(t, () => { throw new Other() })
  await expectBoth(t, other.app, other.port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
  const plain = await withResolver(t, () => { throw Object.assign(new Error('x'), { statusCode: 503 }) })
  await expectBoth(t, plain.app, plain.port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
  const notAnError = await withResolver(t, () => { throw 'a string' }) // eslint-disable-line no-throw-literal
  await expectBoth(t, notAnError.app, notAnError.port, { url: '/secret', headers: { 'dapr-api-token': 'anything' } }, UNAVAILABLE)
})

test('the resolver receives the request', async t => {
  const { app, port } = await withResolver(t, (request: FastifyRequest) => request.headers['x-tenant'] === 'a' ? ['tenant-a'] : ['tenant-b'])
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'tenant-a', 'x-tenant': 'a' } }, credential('tenant-a'))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'tenant-a', 'x-tenant': 'b' } }, INVALID)
})
