import { test } from 'tap'
import { appendFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint, fromFile, type KeySourceState } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { eventually, tempDir } from './helpers/wait.js'

/**
 * A Secret volume with `items: [{ key: token, path: dapr/token }]`, as the kubelet lays it out:
 * `dapr -> ..data/dapr`, so the token's own directory is replaced by each update.
 */
async function nestedVolume (dir: string): Promise<(token: string) => Promise<void>> {
  let generation = 0
  let current: string | null = null
  return async token => {
    const stamp = `..2026_12_03_18_00_${String(generation++).padStart(2, '0')}.${process.hrtime.bigint()}`
    await mkdir(join(dir, stamp, 'dapr'), { recursive: true })
    await writeFile(join(dir, stamp, 'dapr', 'token'), `${token}\n`)
    await symlink(stamp, join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    await symlink(join('..data', 'dapr'), join(dir, 'dapr')).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
    })
    if (current !== null) await rm(join(dir, current), { recursive: true, force: true })
    current = stamp
  }
}

test('a Secret item at dapr/token (its directory a link into ..data) is followed across several swaps, over real sockets', async t => {
  const dir = await tempDir(t)
  const swap = await nestedVolume(dir)
  await swap('token-0')
  // No poll: only the watch can see the swaps.
  const source = fromFile(join(dir, 'dapr', 'token'), { debounceMs: 20, pollMs: 0, graceMs: 0 })
  const app = Fastify()
  await app.register(daprTokenAuth, { keyResolver: source, logLevel: 'silent' })
  app.get('/orders', async () => ({ ok: true }))
  t.teardown(() => app.close())
  const { port } = await listen(app)
  t.equal((await send(port, 'GET', '/orders', { 'dapr-api-token': 'token-0' })).statusCode, 200)

  for (let i = 1; i <= 5; i++) {
    await swap(`token-${i}`)
    const taken = await eventually(async () =>
      (await send(port, 'GET', '/orders', { 'dapr-api-token': `token-${i}` })).statusCode === 200, 100, 20)
    t.ok(taken, `swap ${i}: the new token is accepted within 100 polls 20 ms apart (about 2 s)`)
    t.same(source.state().fingerprints, [fingerprint(`token-${i}`)])
    t.equal(source.state().watching, true, `swap ${i}: still watching`)
  }
})

test('the token\'s directory deleted and recreated: watching is false with the error while it is gone, then the new file is taken', async t => {
  const dir = await tempDir(t)
  const sub = join(dir, 'secrets', 'dapr')
  await mkdir(sub, { recursive: true })
  await writeFile(join(sub, 'token'), 'first\n')
  const source = fromFile(join(sub, 'token'), { debounceMs: 10, settleMs: 0, pollMs: 0 })
  t.teardown(() => source.close())
  source.open()
  t.equal(source.state().watching, true)

  await rm(join(dir, 'secrets'), { recursive: true })
  t.ok(await eventually(() => !source.state().watching), 'no longer watching the removed directory')
  t.match(source.state().lastError?.message, /(does not exist \(ENOENT\))/)
  t.same(source(), ['first'], 'the last good keys stay')

  await mkdir(sub, { recursive: true })
  t.ok(await eventually(() => source.state().watching), 'watching again once the directory is back')
  await writeFile(join(sub, 'token'), 'second\n')
  t.ok(await eventually(() => source()[0] === 'second'), 'the recreated file is served')
  t.equal(source.state().lastError, null)

  // And again, to show the new directory is the one watched.
  await writeFile(join(sub, 'token'), 'third\n')
  t.ok(await eventually(() => source()[0] === 'third'))
})

test('steady writes to another file in the directory do not postpone the reload beyond maxWaitMs', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'old\n')
  // A debounce longer than the churn's period: without a maximum wait it never ends.
  const source = fromFile(path, { debounceMs: 200, maxWaitMs: 300, settleMs: 0, pollMs: 0 })
  t.teardown(() => source.close())
  source.open()
  const churning = { on: true }
  const churn = (async () => {
    for (let i = 0; churning.on && i < 1000; i++) {
      await appendFile(join(dir, 'app.log'), `line ${i}\n`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  t.teardown(async () => { churning.on = false; await churn })
  await new Promise(resolve => setTimeout(resolve, 100))
  await writeFile(path, 'new\n')
  t.ok(await eventually(() => source()[0] === 'new', 150, 20), 'the new token is served while the churn goes on')
  churning.on = false
  await churn
})

test('a writer pausing mid-write longer than the debounce: the fragment is never served', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'original-token\n')
  const served: KeySourceState[] = []
  const source = fromFile(path, { debounceMs: 50, settleMs: 400, pollMs: 0, onChange: state => served.push(state) })
  t.teardown(() => source.close())
  source.open()

  await writeFile(path, 'frag')
  await new Promise(resolve => setTimeout(resolve, 250))
  await appendFile(path, 'ment-token\n')
  t.ok(await eventually(() => source()[0] === 'fragment-token', 150, 20), 'the whole token is served')
  t.notOk(served.some(state => state.fingerprints.includes(fingerprint('frag'))), 'the fragment never was')
  t.same(source(), ['fragment-token', 'original-token'])
})

test('a fragment replaced within settleMs of being served gets no grace; the keys before it keep theirs', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'original-token\n')
  const source = fromFile(path, { debounceMs: 10, settleMs: 300, pollMs: 0 })
  t.teardown(() => source.close())
  source.open()

  await writeFile(path, 'frag')
  // The writer pauses past the settle read: the fragment is served...
  t.ok(await eventually(() => source()[0] === 'frag', 200, 5))
  // ...and completed at once.
  await appendFile(path, 'ment-token\n')
  t.ok(await eventually(() => source()[0] === 'fragment-token', 150, 20))
  t.same(source(), ['fragment-token', 'original-token'], 'the fragment is dropped, the original stays in grace')
  t.same(source.state().grace.map(entry => entry.fingerprint), [fingerprint('original-token')])
})

test('maxWaitMs and settleMs are checked like the other timers', async t => {
  t.throws(() => fromFile('/x', { maxWaitMs: -1 }), { message: /`maxWaitMs` must be a whole number/ })
  t.throws(() => fromFile('/x', { settleMs: 1.5 }), { message: /`settleMs` must be a whole number/ })
})

test('new content that disappears before its settle read is not served, and close cancels a pending settle read', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'old\n')
  const source = fromFile(path, { debounceMs: 10, settleMs: 300, pollMs: 0 })
  t.teardown(() => source.close())
  source.open()
  await writeFile(path, 'new\n')
  // Within the settle interval: the debounced first read has seen 'new'.
  await new Promise(resolve => setTimeout(resolve, 100))
  await rm(path)
  t.ok(await eventually(() => source.state().lastError !== null), 'the failed settle read is reported')
  t.match(source.state().lastError?.message, /does not exist \(ENOENT\)$/)
  t.same(source(), ['old'])

  const other = fromFile(join(dir, 'other'), { debounceMs: 10, settleMs: 300, pollMs: 0 })
  await writeFile(join(dir, 'other'), 'one\n')
  other.open()
  await writeFile(join(dir, 'other'), 'two\n')
  await new Promise(resolve => setTimeout(resolve, 100))
  other.close()
  await new Promise(resolve => setTimeout(resolve, 400))
  t.same(other(), ['one'], 'no reload after close')
})

test('a file where the token\'s directory should be is not watched as that directory', async t => {
  const dir = await tempDir(t)
  const sub = join(dir, 'dapr')
  await mkdir(sub)
  await writeFile(join(sub, 'token'), 'first\n')
  const source = fromFile(join(sub, 'token'), { debounceMs: 10, settleMs: 0, pollMs: 0 })
  t.teardown(() => source.close())
  source.open()
  await rm(sub, { recursive: true })
  await writeFile(sub, 'not a directory')
  t.ok(await eventually(() => !source.state().watching))
  t.match(source.state().lastError?.message, /(does not exist \(ENOENT\): watching .* until it is back|cannot be read \(ENOTDIR\))$/)
  await rm(sub)
  await mkdir(sub)
  await writeFile(join(sub, 'token'), 'second\n')
  t.ok(await eventually(() => source()[0] === 'second'))
  t.equal(source.state().watching, true)
})
