import { test, type Test } from 'tap'
import Fastify from 'fastify'
import daprTokenAuth, { type DaprTokenAuthOptions } from '../lib/index.js'
import { captureLogs, type CapturedLogs } from './helpers/logs.js'
import { sendRaw } from './helpers/http.js'
import { viaInject, viaSocket, start } from './helpers/exchange.js'

const VALID = 'VALID-7f3a9c21e0'
const OTHER_VALID = 'ROTATED-0b8e44d1'
const WRONG = 'WRONG-51d2e8aa93'
const EVERY_TOKEN = [VALID, OTHER_VALID, WRONG]

async function logged (t: Test, options: DaprTokenAuthOptions, level = 'trace') {
  const logs = captureLogs()
  const app = Fastify({ logger: { level, stream: logs.stream } })
  await app.register(daprTokenAuth, options)
  app.get('/healthz', async () => 'healthy')
  app.get('/v1.0/healthz', async () => 'healthy')
  app.get('/secret', async request => ({ credential: request.daprToken }))
  const port = await start(t, app)
  return { app, port, logs }
}

function refusals (logs: CapturedLogs): Array<Record<string, unknown>> {
  return logs.records().filter(record => record.msg === 'Dapr API token refused')
}

function twoLines (token: string, other: string): string {
  return `GET /secret HTTP/1.1\r\nHost: x\r\ndapr-api-token: ${token}\r\ndapr-api-token: ${other}\r\nConnection: close\r\n\r\n`
}

test('no log line on any path ever contains a token, and every refusal carries its reason', async t => {
  const all: string[] = []
  for (const role of ['app', 'sidecar'] as const) {
    const { app, port, logs } = await logged(t, { role, token: [VALID, OTHER_VALID] })
    for (const send of [(exchange: Parameters<typeof viaSocket>[1]) => viaSocket(port, exchange), (exchange: Parameters<typeof viaSocket>[1]) => viaInject(app, exchange)]) {
      t.equal((await send({ url: '/secret', headers: { 'dapr-api-token': VALID } })).statusCode, 200, 'success')
      t.equal((await send({ url: '/secret', headers: { 'dapr-api-token': OTHER_VALID } })).statusCode, 200, 'success, second key')
      t.equal((await send({ url: '/secret' })).statusCode, 401, 'missing')
      t.equal((await send({ url: '/secret', headers: { 'dapr-api-token': WRONG } })).statusCode, 401, 'invalid')
      t.equal((await send({ url: '/secret', headers: { 'dapr-api-token': `${VALID}x` } })).statusCode, 401, 'invalid, extended')
      t.equal((await send({ url: '/nope', headers: { 'dapr-api-token': WRONG } })).statusCode, 401, 'unknown route')
      t.equal((await send({ url: '/nope', headers: { 'dapr-api-token': VALID } })).statusCode, 404, 'unknown route with token')
      t.equal((await send({ url: '/healthz', headers: { 'dapr-api-token': WRONG } })).statusCode, role === 'app' ? 200 : 401, 'health')
      t.equal((await send({ url: '/v1.0/healthz', headers: { 'dapr-api-token': WRONG } })).statusCode, role === 'app' ? 401 : 200, 'v1.0 health')
    }
    t.equal((await sendRaw(port, twoLines(VALID, WRONG))).statusCode, 401, 'duplicate')
    t.equal((await viaInject(app, { url: '/secret', headers: { 'dapr-api-token': [VALID, WRONG] } })).statusCode, 401, 'duplicate, inject')
    const reasons = refusals(logs).map(record => (record.daprTokenAuth as { reason: string }).reason)
    t.same(reasons, ['missing', 'invalid', 'invalid', 'invalid', 'invalid', 'missing', 'invalid', 'invalid', 'invalid', 'invalid', 'duplicate', 'duplicate'], `${role}: reasons in order`)
    t.ok(refusals(logs).every(record => record.level === 30 && typeof record.reqId === 'string'), `${role}: at info, with the request id`)
    all.push(...logs.lines)
  }

  for (const keyResolver of [() => { throw new Error('key store down') }, async () => { throw new Error('key store down') }, () => [], () => [VALID]]) {
    const { app, port, logs } = await logged(t, { keyResolver })
    await viaSocket(port, { url: '/secret', headers: { 'dapr-api-token': VALID } })
    await viaInject(app, { url: '/secret', headers: { 'dapr-api-token': WRONG } })
    await viaInject(app, { url: '/healthz', headers: { 'dapr-api-token': WRONG } })
    all.push(...logs.lines)
  }

  const saved = process.env.APP_API_TOKEN
  delete process.env.APP_API_TOKEN
  t.teardown(() => { if (saved !== undefined) process.env.APP_API_TOKEN = saved })
  const open = await logged(t, { whenUnconfigured: 'allow' })
  await viaSocket(open.port, { url: '/secret', headers: { 'dapr-api-token': WRONG } })
  all.push(...open.logs.lines)

  const failed = captureLogs()
  const unconfigured = Fastify({ logger: { level: 'trace', stream: failed.stream } })
  t.teardown(() => unconfigured.close().catch(() => {}))
  unconfigured.register(daprTokenAuth, { token: ' \n' })
  await t.rejects(async () => { await unconfigured.ready() })
  all.push(...failed.lines)

  t.ok(all.length > 100, `captured ${all.length} log lines`)
  for (const token of EVERY_TOKEN) {
    const leaking = all.filter(line => line.includes(token))
    t.same(leaking, [], `no line contains ${token.split('-')[0]}`)
  }
  t.ok(all.some(line => line.includes('"level":50') && line.includes('Dapr API token key source failed')), 'key source failures logged at error')
})

test('logLevel sets the level of refusal lines', async t => {
  const warn = await logged(t, { token: VALID, logLevel: 'warn' })
  await viaInject(warn.app, { url: '/secret' })
  t.same(refusals(warn.logs).map(record => record.level), [40])
  const debug = await logged(t, { token: VALID, logLevel: 'debug' }, 'info')
  await viaInject(debug.app, { url: '/secret' })
  t.same(refusals(debug.logs), [], 'below the logger level: not written')
  const error = await logged(t, { token: VALID, logLevel: 'error' }, 'info')
  await viaInject(error.app, { url: '/secret', headers: { 'dapr-api-token': WRONG } })
  t.same(refusals(error.logs).map(record => [record.level, record.daprTokenAuth]), [[50, { reason: 'invalid' }]])
})

test('logLevel: \'silent\' writes no refusal line', async t => {
  const { app, logs } = await logged(t, { token: VALID, logLevel: 'silent' })
  t.equal((await viaInject(app, { url: '/secret' })).statusCode, 401)
  t.same(refusals(logs), [])
})

test('success and exempt paths write no refusal line', async t => {
  const { app, logs } = await logged(t, { token: VALID })
  await viaInject(app, { url: '/secret', headers: { 'dapr-api-token': VALID } })
  await viaInject(app, { url: '/healthz' })
  t.same(refusals(logs), [])
})
