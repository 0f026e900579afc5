import { test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint, fromEnv } from '../lib/index.js'
import { recordingLogger } from './helpers/wait.js'

test('fromEnv reads the variable once, trimmed, and serves the same array', async t => {
  const env: NodeJS.ProcessEnv = { APP_TOKEN_FILE_LESS: '  from-env\n' }
  const source = fromEnv('APP_TOKEN_FILE_LESS', { env })
  env.APP_TOKEN_FILE_LESS = 'changed later'
  t.same(source(), ['from-env'], 'read once, at creation')
  t.equal(source(), source())
  const state = source.state()
  t.same(state.fingerprints, [fingerprint('from-env')])
  t.equal(state.source, 'env APP_TOKEN_FILE_LESS')
  t.equal(state.watching, false)
  t.equal(state.lastError, null)
  t.ok(state.lastReload instanceof Date)
  source.close()
  t.same(source(), ['from-env'])
})

test('fromEnv reads process.env by default', async t => {
  process.env.FST_TEST_FROM_ENV = 'proc'
  t.teardown(() => { delete process.env.FST_TEST_FROM_ENV })
  t.same(fromEnv('FST_TEST_FROM_ENV')(), ['proc'])
})

test('fromEnv fails closed when the variable is unset or blank, naming it', async t => {
  for (const value of [undefined, '', '  \n']) {
    const log = recordingLogger()
    const source = fromEnv('MY_APP_TOKEN', { env: { MY_APP_TOKEN: value }, log })
    const expected = {
      code: 'FST_DAPR_TOKEN_NOT_CONFIGURED',
      message: 'No Dapr API token is configured: set the MY_APP_TOKEN environment variable, or pass the `token` or `keyResolver` option'
    }
    t.throws(() => source.open(), expected)
    t.throws(() => source(), expected)
    t.equal(source.state().lastError?.code, 'FST_DAPR_TOKEN_NOT_CONFIGURED')
    t.equal(log.lines.length, 1, 'the failure is logged once')
    t.equal(log.lines[0]?.message, 'Dapr API token key source failed')
  }
  t.throws(() => fromEnv(''), { code: 'FST_DAPR_TOKEN_OPTIONS' })
})

test('fromEnv options: an object with known names only (a misspelt `env` would read process.env instead)', async t => {
  t.throws(() => fromEnv('MY_APP_TOKEN', { environment: { MY_APP_TOKEN: 'x' } } as never), {
    code: 'FST_DAPR_TOKEN_OPTIONS',
    message: 'Invalid fastify-dapr-token-auth options: fromEnv: unknown option `environment`; the options are `env`, `log`'
  })
  t.throws(() => fromEnv('MY_APP_TOKEN', { Env: {} } as never), { message: /unknown option `Env` \(did you mean `env`\?\)/ })
  t.throws(() => fromEnv('MY_APP_TOKEN', null as never), { code: 'FST_DAPR_TOKEN_OPTIONS', message: /`fromEnv` options must be an object/ })
})

test('the plugin fails ready() for an empty fromEnv source and logs its keys by fingerprint otherwise', async t => {
  const empty = Fastify()
  empty.register(daprTokenAuth, { keyResolver: fromEnv('NOPE', { env: {} }) })
  await t.rejects(async () => { await empty.ready() }, { code: 'FST_DAPR_TOKEN_NOT_CONFIGURED' })
  await empty.close()

  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(daprTokenAuth, { keyResolver: fromEnv('TOKEN', { env: { TOKEN: 'env-secret' } }) })
  app.get('/', async request => request.daprToken)
  t.teardown(() => app.close())
  const ok = await app.inject({ url: '/', headers: { 'dapr-api-token': 'env-secret' } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { kind: 'static', index: 0, fingerprint: fingerprint('env-secret') })
  const loaded = lines.find(line => line.msg === 'Dapr API token keys loaded')
  t.same(loaded?.daprTokenKeys, { source: 'env TOKEN', fingerprints: [fingerprint('env-secret')], added: [fingerprint('env-secret')], removed: [], graceMs: 0 })
  t.notOk(JSON.stringify(lines).includes('env-secret'))
})
