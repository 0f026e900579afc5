import { test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { DaprTokenNotConfiguredError, DaprTokenOptionsError, type DaprTokenAuthOptions } from '../lib/index.js'
import { resolveOptions } from '../lib/options.js'
import { captureLogs } from './helpers/logs.js'
import { MISSING, expectBoth, json, start } from './helpers/exchange.js'

/** Registers with `options` and returns what `ready()` rejects with. */
async function registrationError (options: unknown): Promise<Error & { code?: string }> {
  const app = Fastify()
  app.register(daprTokenAuth, options as DaprTokenAuthOptions)
  try {
    await app.ready()
  } catch (error) {
    return error as Error
  } finally {
    await app.close()
  }
  throw new Error('ready() resolved')
}

const BAD_OPTIONS: Array<[string, unknown, string]> = [
  ['role not app or sidecar', { token: 't', role: 'client' }, "`role` must be one of 'app', 'sidecar'"],
  ['header not a string', { token: 't', header: 42 }, '`header` must be a valid HTTP header name'],
  ['header with a space', { token: 't', header: 'dapr api token' }, '`header` must be a valid HTTP header name'],
  ['header empty', { token: 't', header: '' }, '`header` must be a valid HTTP header name'],
  ['errorResponse unknown', { token: 't', errorResponse: 'json' }, "`errorResponse` must be 'daprd', 'fastify' or a function returning the body"],
  ['logLevel unknown', { token: 't', logLevel: 'verbose' }, '`logLevel` must be a pino level or \'silent\', not "verbose"'],
  ['envVar empty', { envVar: '' }, '`envVar` must be a non-empty string'],
  ['envVar not a string', { envVar: 1 }, '`envVar` must be a non-empty string'],
  ['stripHeader not boolean', { token: 't', stripHeader: 'no' }, '`stripHeader` must be true or false'],
  ['addHook not boolean', { token: 't', addHook: 0 }, '`addHook` must be true or false'],
  ['whenUnconfigured unknown', { token: 't', whenUnconfigured: 'open' }, "`whenUnconfigured` must be one of 'fail', 'allow'"],
  ['token and keyResolver', { token: 't', keyResolver: () => 't' }, 'pass either `token` or `keyResolver`, not both'],
  ['keyResolver not a function', { keyResolver: ['t'] }, '`keyResolver` must be a function (request) => token(s)'],
  ['token a number', { token: 42 }, '`token` must be a string or an array of strings'],
  ['token array with a non-string', { token: ['t', 42] }, 'every `token` entry must be a string'],
  ['exempt neither array nor function', { token: 't', exempt: 'GET /healthz' }, '`exempt` must be an array of routes or a predicate function'],
  ['exempt string without a method', { token: 't', exempt: ['/healthz'] }, 'exempt entry "/healthz" must look like \'GET /healthz\''],
  ['exempt lower-case method', { token: 't', exempt: ['get /healthz'] }, 'exempt route "/healthz" needs upper-case HTTP method names, such as \'GET\''],
  ['exempt object without url', { token: 't', exempt: [{ method: 'GET' }] }, "each exempt entry must be a string like 'GET /healthz' or an object { method, url }"],
  ['exempt null entry', { token: 't', exempt: [null] }, "each exempt entry must be a string like 'GET /healthz' or an object { method, url }"],
  ['exempt empty method list', { token: 't', exempt: [{ method: [], url: '/healthz' }] }, 'exempt route "/healthz" needs upper-case HTTP method names, such as \'GET\''],
  ['exempt method not a string', { token: 't', exempt: [{ method: 1, url: '/healthz' }] }, 'exempt route "/healthz" needs upper-case HTTP method names, such as \'GET\''],
  ['an exempt object with a misspelt member (regression: ignored in silence)', { token: 't', exempt: [{ methods: ['GET'], url: '/healthz' }] }, 'unknown option `exempt[].methods` (did you mean `exempt[].method`?); the options are `exempt[].method`, `exempt[].url`'],
  ['a misspelt option (regression: ignored in silence, leaving the env var in force)', { tokens: ['t'] }, 'unknown option `tokens` (did you mean `token`?); the options are `role`, `token`, `keyResolver`, `jwt`, `envVar`, `header`, `exempt`, `stripHeader`, `addHook`, `errorResponse`, `whenUnconfigured`, `logLevel`, `grpc`'],
  ['an option nothing resembles', { token: 't', colour: 'red' }, 'unknown option `colour`; the options are `role`, `token`, `keyResolver`, `jwt`, `envVar`, `header`, `exempt`, `stripHeader`, `addHook`, `errorResponse`, `whenUnconfigured`, `logLevel`, `grpc`'],
  ['exempt url without a slash', { token: 't', exempt: ['GET healthz'] }, 'exempt url "healthz" must be a route pattern starting with \'/\'']
]

for (const [name, options, message] of BAD_OPTIONS) {
  test(`invalid option (${name}) fails registration with FST_DAPR_TOKEN_OPTIONS`, async t => {
    const error = await registrationError(options)
    t.ok(error instanceof DaprTokenOptionsError, 'a DaprTokenOptionsError')
    t.equal(error.code, 'FST_DAPR_TOKEN_OPTIONS')
    t.equal(error.message, `Invalid fastify-dapr-token-auth options: ${message}`)
  })
}

test('the options Fastify\'s register() reads from the same object are accepted', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 't', prefix: '/api', logSerializers: {} } as DaprTokenAuthOptions)
  app.get('/x', async () => 'ok')
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/x', headers: { 'dapr-api-token': 't' } })).statusCode, 200)
})

test('options that are not an object are refused', async t => {
  t.throws(() => resolveOptions('token' as unknown as DaprTokenAuthOptions), { code: 'FST_DAPR_TOKEN_OPTIONS', message: 'Invalid fastify-dapr-token-auth options: options must be an object' })
  t.throws(() => resolveOptions(null as unknown as DaprTokenAuthOptions), { code: 'FST_DAPR_TOKEN_OPTIONS' })
  t.equal(resolveOptions(undefined, { APP_API_TOKEN: 'x' }).verifier !== null, true, 'no options at all reads the env var')
})

test('an option error message never contains a configured token', async t => {
  const error = await registrationError({ token: 'super-secret-value', keyResolver: 'also-secret' })
  t.notMatch(error.message, /super-secret-value|also-secret/)
})

test('no token configured: ready() rejects with FST_DAPR_TOKEN_NOT_CONFIGURED naming the env var', async t => {
  const saved = { app: process.env.APP_API_TOKEN, sidecar: process.env.DAPR_API_TOKEN }
  delete process.env.APP_API_TOKEN
  delete process.env.DAPR_API_TOKEN
  t.teardown(() => {
    if (saved.app !== undefined) process.env.APP_API_TOKEN = saved.app
    if (saved.sidecar !== undefined) process.env.DAPR_API_TOKEN = saved.sidecar
  })
  const cases: Array<[DaprTokenAuthOptions, string]> = [
    [{}, 'APP_API_TOKEN'],
    [{ role: 'sidecar' }, 'DAPR_API_TOKEN'],
    [{ envVar: 'MY_SERVICE_TOKEN' }, 'MY_SERVICE_TOKEN'],
    [{ token: '' }, 'APP_API_TOKEN'],
    [{ token: '   \n' }, 'APP_API_TOKEN'],
    [{ token: [] }, 'APP_API_TOKEN'],
    [{ token: ['', ' '], role: 'sidecar' }, 'DAPR_API_TOKEN']
  ]
  for (const [options, envVar] of cases) {
    const error = await registrationError(options)
    t.ok(error instanceof DaprTokenNotConfiguredError, JSON.stringify(options))
    t.equal(error.code, 'FST_DAPR_TOKEN_NOT_CONFIGURED')
    t.equal(error.message, `No Dapr API token is configured: set the ${envVar} environment variable, or pass the \`token\` or \`keyResolver\` option`)
  }
  process.env.APP_API_TOKEN = '  \n'
  const blank = await registrationError({})
  t.equal(blank.code, 'FST_DAPR_TOKEN_NOT_CONFIGURED', 'an env var blank after trim is not configured')
})

test('whenUnconfigured: \'allow\' lets every request through, with request.daprToken null, and warns once at start', async t => {
  const saved = process.env.APP_API_TOKEN
  delete process.env.APP_API_TOKEN
  t.teardown(() => { if (saved !== undefined) process.env.APP_API_TOKEN = saved })
  const logs = captureLogs()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(daprTokenAuth, { whenUnconfigured: 'allow' })
  app.get('/secret', async request => ({ credential: request.daprToken, header: request.headers['dapr-api-token'] ?? null }))
  app.get('/guarded', { onRequest: app.verifyDaprToken }, async () => ({ guarded: true }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/secret' }, json({ credential: null, header: null }))
  await expectBoth(t, app, port, { url: '/secret', headers: { 'dapr-api-token': 'whatever' } }, json({ credential: null, header: 'whatever' }))
  await expectBoth(t, app, port, { url: '/guarded' }, json({ guarded: true }))
  const warnings = logs.records().filter(record => record.level === 40)
  t.same(warnings.map(record => record.msg), ['fastify-dapr-token-auth: no Dapr API token configured and whenUnconfigured is \'allow\': every request passes unauthenticated'])
})

test('whenUnconfigured: \'allow\' changes nothing once a token is configured', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 't', whenUnconfigured: 'allow' })
  app.get('/secret', async () => ({ secret: true }))
  const port = await start(t, app)
  await expectBoth(t, app, port, { url: '/secret' }, MISSING)
})

test('defaults: app role, dapr-api-token header, strip, hook, fastify errors, info logs', async t => {
  const resolved = resolveOptions({ token: 't' })
  t.match(resolved, { header: 'dapr-api-token', stripHeader: true, addHook: true, errorResponse: 'fastify', logLevel: 'info', whenUnconfigured: 'fail', unconfigured: null })
  t.match(resolveOptions({ token: 't', role: 'sidecar' }), { errorResponse: 'daprd' })
  t.match(resolveOptions({ token: 't', header: 'X-Token' }), { header: 'x-token' })
})

test('invalid options reject an awaited register() instead of crashing the process (regression)', async t => {
  // resolveOptions() threw synchronously inside the callback plugin; avvio did not catch it and the
  // process died with an uncaught exception instead of register()/ready() rejecting.
  const app = Fastify()
  t.teardown(() => app.close().catch(() => {}))
  await t.rejects(async () => { await app.register(daprTokenAuth, { token: 't', role: 'client' as 'app' }) }, { code: 'FST_DAPR_TOKEN_OPTIONS' })
})
