import { test } from 'tap'
import { execFile } from 'node:child_process'
import { unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint, fromFile, type KeyResolver } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { eventually, tempDir } from './helpers/wait.js'

test('a file source as keyResolver: rotation over a real socket, state for a status route, close releases it', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'first\n')
  const source = fromFile(path, { graceMs: 100, debounceMs: 10 })
  const app = Fastify()
  await app.register(daprTokenAuth, { keyResolver: source })
  app.get('/orders', async request => request.daprToken)
  app.get('/internal/keys', { config: { daprTokenAuth: false } }, async () => source.state())
  const { port } = await listen(app)

  const first = await send(port, 'GET', '/orders', { 'dapr-api-token': 'first' })
  t.equal(first.statusCode, 200)
  t.same(JSON.parse(first.body), { kind: 'static', index: 0, fingerprint: fingerprint('first') })

  await writeFile(path, 'second\n')
  t.ok(await eventually(async () => (await send(port, 'GET', '/orders', { 'dapr-api-token': 'second' })).statusCode === 200))
  const status = JSON.parse((await send(port, 'GET', '/internal/keys')).body)
  t.same(status.fingerprints, [fingerprint('second')])
  t.equal(status.lastError, null)
  t.equal(status.watching, true)
  t.equal(typeof status.lastReload, 'string')
  t.notOk(JSON.stringify(status).includes('second'), 'the status shows fingerprints, never keys')
  t.ok(await eventually(async () => (await send(port, 'GET', '/orders', { 'dapr-api-token': 'first' })).statusCode === 401), 'old token refused after its grace')

  await app.close()
  t.equal(source.state().watching, false, 'closing the app closes the source')
  await writeFile(path, 'third\n')
  await sleep(100)
  t.same(source(), ['second'], 'no reload after close')
})

test('a file unreadable at registration makes ready() fail with the key source error', async t => {
  const dir = await tempDir(t)
  const app = Fastify()
  app.register(daprTokenAuth, { keyResolver: fromFile(join(dir, 'missing')) })
  await t.rejects(async () => { await app.ready() }, {
    code: 'FST_DAPR_TOKEN_KEY_SOURCE',
    message: `Dapr API token key source file ${join(dir, 'missing')} failed: it does not exist (ENOENT)`
  })
  await app.close()
})

test('a source that cannot answer a request is a clean 500 with no internals', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  const source = fromFile(path)
  t.teardown(() => source.close())
  // Wrapped, so the plugin does not open it: the first request does, and the file is not there.
  const app = Fastify()
  await app.register(daprTokenAuth, { keyResolver: request => source(request) })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  const { port } = await listen(app)
  const response = await send(port, 'GET', '/', { 'dapr-api-token': 'anything' })
  t.equal(response.statusCode, 500)
  t.same(JSON.parse(response.body), { statusCode: 500, code: 'FST_DAPR_TOKEN_RESOLVER_FAILED', error: 'Internal Server Error', message: 'Dapr API token verification is unavailable' })
  t.notOk(response.body.includes(dir))
  await writeFile(path, 'now')
  t.equal((await send(port, 'GET', '/', { 'dapr-api-token': 'now' })).statusCode, 200, 'served once the file exists')
  await unlink(path)
})

test('any keyResolver with open() or close() gets the same lifecycle', async t => {
  const calls: string[] = []
  const both = Object.assign(() => 'tok', { open: (log: unknown) => { calls.push(`open ${typeof log}`) }, close: () => { calls.push('close') } })
  const onlyClose = Object.assign(() => 'tok', { close: () => { calls.push('only close') } })
  const onlyOpen = Object.assign(() => 'tok', { open: () => { calls.push('only open') } })
  const plain: KeyResolver = () => 'tok'
  for (const keyResolver of [both, onlyClose, onlyOpen, plain]) {
    const app = Fastify()
    await app.register(daprTokenAuth, { keyResolver })
    app.get('/', async () => 'ok')
    t.equal((await app.inject({ url: '/', headers: { 'dapr-api-token': 'tok' } })).statusCode, 200)
    await app.close()
  }
  t.same(calls, ['open object', 'close', 'only close', 'only open'])
})

test('a process that registers a file source and closes the app exits on its own', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'child-token\n')
  const fixture = join(__dirname, 'fixtures', 'close-file-source.ts')
  const result = await new Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string }>(resolve => {
    // The timeout only ends a hung child so the test can fail; it is not a timing assertion.
    const child = execFile(process.execPath, [...process.execArgv, fixture, path], { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: child.exitCode, signal: error?.signal ?? null, stdout, stderr })
    })
  })
  t.equal(result.signal, null, 'not killed: nothing held the event loop')
  t.equal(result.code, 0, result.stderr)
  t.same(JSON.parse(result.stdout), { status: 200, watching: false })
})
