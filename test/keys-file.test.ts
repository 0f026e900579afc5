import { test } from 'tap'
import fs from 'node:fs'
import { EventEmitter } from 'node:events'
import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fingerprint, fromFile, parseTokenLines, type FileSourceOptions, type KeySource, type KeySourceState } from '../lib/index.js'
import { eventually, recordingLogger, tempDir } from './helpers/wait.js'

// settleMs 0: these tests write in quick succession on purpose; the settle tests set their own.
const quick = { debounceMs: 10, pollMs: 0, settleMs: 0 } as const

function open<K> (t: { teardown: (fn: () => void) => void }, path: string, options: FileSourceOptions<K> & { parse?: (content: string) => readonly K[] } = {}): KeySource<K> {
  const source = fromFile(path, { ...quick, ...options } as FileSourceOptions<K> & { parse: (content: string) => readonly K[] })
  t.teardown(() => source.close())
  return source
}

test('one token per line: blank lines, surrounding whitespace, CRLF and a BOM are ignored; duplicates served once', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, '\uFEFF  alpha \r\n\r\n\tbeta\r\n   \r\nalpha\r\n')
  const source = open(t, path)
  t.same(source(), ['alpha', 'beta'])
  t.equal(source(), source(), 'the same array between reloads')
  t.ok(Object.isFrozen(source()))
  t.same(source.state().fingerprints, [fingerprint('alpha'), fingerprint('beta'), fingerprint('alpha')])
  t.same(parseTokenLines('a\r\nb\n\n c '), ['a', 'b', 'c'])
})

test('a change is served after the debounce, the replaced keys stay valid for graceMs, then leave with a new array', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'old\n')
  const log = recordingLogger()
  const changes: KeySourceState[] = []
  const source = open(t, path, { graceMs: 150, log, onChange: state => changes.push(state) })
  source.open()
  const first = source()
  t.same(first, ['old'])
  t.equal(source.state().watching, true)

  await writeFile(path, 'new\n')
  t.ok(await eventually(() => source()[0] === 'new'), 'new key served')
  const during = source()
  t.same(during, ['new', 'old'], 'old key still valid during its grace')
  t.not(during, first)
  const state = source.state()
  t.same(state.fingerprints, [fingerprint('new')])
  t.same(state.grace.map(entry => entry.fingerprint), [fingerprint('old')])
  t.ok(state.grace[0] !== undefined && state.grace[0].until > new Date(Date.now() - 1))

  t.ok(await eventually(() => source().length === 1), 'old key leaves when its grace ends')
  t.same(source(), ['new'])
  t.not(source(), during, 'expiry produces a new array identity')
  t.same(source.state().grace, [])

  t.same(log.lines.map(line => [line.level, line.message]), [
    ['info', 'Dapr API token keys loaded'],
    ['info', 'Dapr API token keys changed'],
    ['info', 'Dapr API token keys left their grace and are no longer accepted']
  ])
  t.same(log.lines[1]?.details, {
    daprTokenKeys: { source: `file ${path}`, fingerprints: [fingerprint('new')], added: [fingerprint('new')], removed: [fingerprint('old')], graceMs: 150 }
  })
  t.same(log.lines[2]?.details, { daprTokenKeys: { source: `file ${path}`, expired: [fingerprint('old')] } })
  const text = JSON.stringify(log.lines)
  t.notOk(text.includes('"old"') || text.includes('"new"'), 'keys never logged')
  t.same(changes.map(change => change.fingerprints), [[fingerprint('old')], [fingerprint('new')], [fingerprint('new')]])
})

test('graceMs 0 drops the replaced keys at once', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'old')
  const source = open(t, path, { graceMs: 0 })
  source.open()
  await writeFile(path, 'new')
  t.ok(await eventually(() => source()[0] === 'new'))
  t.same(source(), ['new'])
  t.same(source.state().grace, [])
})

test('overlapping changes: each replaced generation keeps its own grace; a key back in the file is current again', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'a')
  const source = open(t, path, { graceMs: 1000 })
  source.open()
  await writeFile(path, 'b')
  t.ok(await eventually(() => source()[0] === 'b'))
  await writeFile(path, 'c')
  t.ok(await eventually(() => source()[0] === 'c'))
  t.same(source(), ['c', 'a', 'b'])
  await writeFile(path, 'a')
  t.ok(await eventually(() => source()[0] === 'a'))
  t.same(source(), ['a', 'b', 'c'])
  t.same(source.state().grace.map(entry => entry.fingerprint), [fingerprint('b'), fingerprint('c')])
  t.ok(await eventually(() => source().length === 1, 200))
  t.same(source(), ['a'])
})

test('a file deleted then recreated: the last good keys stay, the error is reported, the new file is taken', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'one')
  const log = recordingLogger()
  const source = open(t, path, { log })
  source.open()
  const served = source()

  await unlink(path)
  t.ok(await eventually(() => source.state().lastError !== null), 'the deletion is noticed')
  t.equal(source(), served, 'the last good keys stay, same array')
  const error = source.state().lastError
  t.equal(error?.code, 'FST_DAPR_TOKEN_KEY_SOURCE')
  t.equal(error?.message, `Dapr API token key source file ${path} failed: it does not exist (ENOENT)`)
  t.ok(error?.at instanceof Date)
  t.equal(log.lines.at(-1)?.level, 'error')
  t.equal(log.lines.at(-1)?.message, 'Dapr API token key source failed: serving the last good keys')

  await writeFile(path, 'two')
  t.ok(await eventually(() => source()[0] === 'two'), 'the recreated file is read')
  t.equal(source.state().lastError, null)
})

test('a file recreated with the same content clears the error and keeps the same array', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'same')
  const log = recordingLogger()
  const source = open(t, path, { log })
  source.open()
  const served = source()
  await unlink(path)
  t.ok(await eventually(() => source.state().lastError !== null))
  await writeFile(path, 'same')
  t.ok(await eventually(() => source.state().lastError === null))
  t.equal(source(), served)
  t.equal(log.lines.at(-1)?.message, 'Dapr API token key source recovered, keys unchanged')
})

test('an emptied (or blank) file is never served: the last good keys stay', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'keep')
  const source = open(t, path)
  source.open()
  await writeFile(path, '')
  t.ok(await eventually(() => source.state().lastError !== null))
  t.same(source(), ['keep'])
  t.match(source.state().lastError?.message, /it holds no key \(empty or blank\)$/)
  await writeFile(path, ' \r\n \n')
  await writeFile(path, 'fresh\r\n')
  t.ok(await eventually(() => source()[0] === 'fresh'))
  t.equal(source.state().lastError, null)
})

test('a file that becomes unreadable later keeps the last good keys', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'good')
  const source = open(t, path)
  source.open()
  // Running as root makes chmod useless; a directory in the file's place cannot be read by anyone.
  await unlink(path)
  await mkdir(path)
  t.ok(await eventually(() => /EISDIR/.test(source.state().lastError?.message ?? '')))
  t.same(source(), ['good'])
  t.equal(source.state().lastError?.message, `Dapr API token key source file ${path} failed: it cannot be read (EISDIR)`)
  await rm(path, { recursive: true })
  await writeFile(path, 'better')
  t.ok(await eventually(() => source()[0] === 'better'))
})

test('an unreadable or missing file at start fails closed with a clear error', async t => {
  const dir = await tempDir(t)
  const missing = open(t, join(dir, 'absent'))
  t.throws(() => missing.open(), {
    code: 'FST_DAPR_TOKEN_KEY_SOURCE',
    statusCode: 500,
    message: `Dapr API token key source file ${join(dir, 'absent')} failed: it does not exist (ENOENT)`
  })
  t.throws(() => missing(), { code: 'FST_DAPR_TOKEN_KEY_SOURCE' }, 'a call fails closed too')
  t.equal(missing.state().lastReload, null)
  t.equal(missing.state().watching, false, 'nothing watched when nothing was loaded')

  await mkdir(join(dir, 'folder'))
  const unreadable = open(t, join(dir, 'folder'))
  t.throws(() => unreadable(), { message: /it cannot be read \(EISDIR\)$/ })

  await writeFile(join(dir, 'empty'), '\n\n')
  t.throws(() => open(t, join(dir, 'empty')).open(), { message: /it holds no key/ })
})

test('a missing file is read on the first call once it appears (lazy start)', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  const source = open(t, path)
  t.throws(() => source())
  await writeFile(path, 'late')
  t.same(source(), ['late'])
  t.equal(source.state().watching, true)
})

test('an editor that renames a new file onto the old one is followed', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'before')
  const source = open(t, path)
  source.open()
  for (const [i, token] of ['after', 'again', 'final'].entries()) {
    await writeFile(join(dir, `.token.swp${i}`), `${token}\n`)
    await rename(join(dir, `.token.swp${i}`), path)
    t.ok(await eventually(() => source()[0] === token), `rename ${i + 1} followed`)
  }
})

test('100 rapid writes: debounced, only complete keys ever served, the last write wins', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  const tokens = Array.from({ length: 100 }, (_, i) => `token-${i}-${'x'.repeat(i)}`)
  await writeFile(path, 'start')
  const seen: string[][] = []
  const log = recordingLogger()
  const source = open(t, path, { graceMs: 0, debounceMs: 50, log, onChange: state => seen.push([...state.fingerprints]) })
  source.open()
  for (const token of tokens) await writeFile(path, `${token}\n`)
  const last = tokens[99] as string
  t.ok(await eventually(() => source()[0] === last))
  t.same(source(), [last])
  const valid = new Set(['start', ...tokens].map(token => fingerprint(token)))
  t.ok(seen.every(fps => fps.length === 1 && valid.has(fps[0] as string)), 'every served set is one complete token')
  const changes = log.lines.filter(line => line.message === 'Dapr API token keys changed').length
  t.ok(changes >= 1 && changes < 100, `bursts are debounced (${changes} reloads for 100 writes)`)
})

test('watch: false relies on polling', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'polled')
  const source = open(t, path, { watch: false, pollMs: 20 })
  source.open()
  source.open() // idempotent
  t.equal(source.state().watching, false)
  await writeFile(path, 'next')
  t.ok(await eventually(() => source()[0] === 'next'), 'the poll finds the change')
})

test('parse reads other keys (a JWK file) with their own fingerprints; its failures never quote the content', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'jwks.json')
  interface Jwk { kty: string, k: string, kid: string }
  await writeFile(path, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'one' }] }))
  const parse = (content: string): Jwk[] => (JSON.parse(content) as { keys: Jwk[] }).keys
  const source: KeySource<Jwk> = open(t, path, { parse })
  t.same(source(), [{ kty: 'oct', k: 'c2VjcmV0', kid: 'one' }])
  t.same(source.state().fingerprints, [fingerprint(JSON.stringify({ kty: 'oct', k: 'c2VjcmV0', kid: 'one' }))])

  await writeFile(path, '{"keys": [ c2VjcmV0-half-written')
  t.ok(await eventually(() => source.state().lastError !== null))
  const message = source.state().lastError?.message ?? ''
  t.match(message, /its content could not be parsed \(SyntaxError\)$/)
  t.notOk(message.includes('c2VjcmV0'))
  t.equal(source().length, 1)

  const named = open(t, path, { parse: () => [{ id: 1 }], fingerprint: key => `key-${key.id}` })
  t.same(named.state().fingerprints, [])
  named.open()
  t.same(named.state().fingerprints, ['key-1'])

  const bytes = open(t, path, { parse: content => [Buffer.from(content)] })
  t.same(bytes.state().fingerprints, [])
  bytes.open()
  t.equal(bytes.state().fingerprints[0], fingerprint(fs.readFileSync(path)))

  t.throws(() => open(t, path, { parse: () => 'nope' as unknown as string[] }).open(), { message: /`parse` did not return an array of keys$/ })
  t.throws(() => open(t, path, { parse: () => { throw 'raw' } }).open(), { message: /could not be parsed \(error\)$/ }) // eslint-disable-line no-throw-literal -- a parser may throw anything
  const opaque = open(t, path, { parse: () => [() => 'a function key'] })
  opaque.open()
  t.same(opaque.state().fingerprints, [fingerprint('')], 'a key JSON cannot show gets a fingerprint, not a crash: give `fingerprint` for such keys')
})

test('options are checked when the source is created', async t => {
  const path = '/nonexistent/token'
  const bad: Array<[unknown, RegExp]> = [
    [{ graceMs: -1 }, /`graceMs` must be a whole number of milliseconds/],
    [{ graceMs: 1.5 }, /`graceMs`/],
    [{ graceMs: 2 ** 31 }, /`graceMs`/],
    [{ graceMs: '10' }, /`graceMs`/],
    [{ debounceMs: Infinity }, /`debounceMs`/],
    [{ pollMs: -5 }, /`pollMs`/],
    [{ watch: 'yes' }, /`watch` must be true or false/],
    [{ parse: 'lines' }, /`parse` must be a function/],
    [{ fingerprint: 'sha' }, /`fingerprint` must be a function/],
    [{ onChange: true }, /`onChange` must be a function/],
    [null, /options must be an object/],
    [{ debounce: 10 }, /^Invalid fastify-dapr-token-auth options: fromFile: unknown option `debounce` \(did you mean `debounceMs`\?\); the options are `parse`, /],
    [{ grace: 0 }, /unknown option `grace` \(did you mean `graceMs`\?\)/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => fromFile(path, options as FileSourceOptions), { code: 'FST_DAPR_TOKEN_OPTIONS', message }, JSON.stringify(options))
  }
  t.throws(() => fromFile(''), { code: 'FST_DAPR_TOKEN_OPTIONS', message: /`fromFile\(path\)` needs the path of a file/ })
  t.throws(() => fromFile(42 as unknown as string), { code: 'FST_DAPR_TOKEN_OPTIONS' })
})

test('close releases the watcher, the poll and the grace timers: later writes change nothing', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'a')
  const source = open(t, path, { graceMs: 60_000, pollMs: 20 })
  source.open()
  await writeFile(path, 'b')
  t.ok(await eventually(() => source()[0] === 'b'))
  t.same(source(), ['b', 'a'])
  source.close()
  t.same(source(), ['b'], 'a closed source ends every grace')
  t.equal(source.state().watching, false)
  await writeFile(path, 'c')
  await sleep(100)
  t.same(source(), ['b'], 'no reload after close')
  source.open()
  t.equal(source.state().watching, false, 'a closed source stays closed')
  source.close()
})

test('close during a pending debounce cancels the reload', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'a')
  const source = open(t, path, { debounceMs: 200 })
  source.open()
  await writeFile(path, 'b')
  await sleep(50)
  source.close()
  await sleep(300)
  t.same(source(), ['a'])
})

test('a throwing onChange is logged and does not break the source', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'a')
  const log = recordingLogger()
  const source = open(t, path, { log, onChange: () => { throw new Error('metrics down') } })
  source.open()
  t.equal(log.lines[1]?.message, 'Dapr API token key source onChange callback threw')
  await writeFile(path, 'b')
  t.ok(await eventually(() => source()[0] === 'b'))
})

test('a file caught mid-write (its size changes while read) is not served', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'whole')
  const realFstat = fs.fstatSync
  let lie = true
  t.teardown(() => { fs.fstatSync = realFstat })
  ;(fs as { fstatSync: unknown }).fstatSync = (fd: number) => {
    const stats = realFstat(fd)
    if (lie) stats.size += 1
    return stats
  }
  const source = open(t, path)
  t.throws(() => source.open(), { message: /it changed while being read$/ })
  lie = false
  source.open()
  t.same(source(), ['whole'])
})

test('a directory that cannot be watched is reported, and the poll keeps trying to watch it', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'token')
  await writeFile(path, 'a')
  const realWatch = fs.watch
  const fake = Object.assign(new EventEmitter(), { close () { fake.closed++ }, closed: 0 })
  let calls = 0
  t.teardown(() => { (fs as { watch: typeof fs.watch }).watch = realWatch })
  ;(fs as { watch: unknown }).watch = () => {
    calls++
    if (calls === 1) throw Object.assign(new Error('no watches left'), { code: 'ENOSPC' })
    if (calls === 2) throw new Error('no code')
    return fake
  }
  const log = recordingLogger()
  const source = open(t, path, { pollMs: 20, log })
  source.open()
  t.same(source(), ['a'], 'keys served even without a watcher')
  t.equal(source.state().lastError?.message, `Dapr API token key source file ${path} failed: its directory cannot be watched (ENOSPC)`)
  t.equal(source.state().watching, false)
  t.ok(await eventually(() => source.state().watching), 'the poll brings the watcher back')
  t.ok(log.lines.some(line => /\(unknown error\)$/.test(String((line.details as { err?: Error }).err?.message))))

  fake.emit('error', Object.assign(new Error('gone'), { code: 'EPERM' }))
  t.equal(fake.closed, 1, 'a failed watcher is closed')
  t.equal(source.state().watching, false)
  t.match(source.state().lastError?.message, /its directory can no longer be watched \(EPERM\)$/)
  t.ok(await eventually(() => source.state().watching), 'and watched again after the next poll')
  source.close()
  t.equal(fake.closed, 2)
})
