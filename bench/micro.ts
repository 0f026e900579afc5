// The hook alone, called directly with fake request and reply objects: ns per call for each mode,
// and memory over 1 million refusals of distinct random bad tokens. Prints one JSON object.
// Run with --expose-gc (the runner does) so heap figures are taken after a collection.
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { HEADERS_COUNT } from '../lib/extract.js'
import { buildHook, type DaprTokenHook } from '../lib/hook.js'
import { resolveOptions, type DaprTokenAuthOptions, type ResolvedOptions } from '../lib/options.js'
import type { TokenVerifier } from '../lib/verifier.js'
import { jwtFixture, jwtOptions, TOKEN } from './scenarios.js'

const HEADER = 'dapr-api-token'
const OTHER_TOKENS = ['bV8sK2mQ7xR1tN4pL9wZ3cF6hJ0dG5yA8eU2iO7kM1n', 'Zr5tY8uI1oP4aS7dF0gH3jK6lX9cV2bN5mQ8wE1rT4y']
const WRONG_TOKEN = 'x'.repeat(TOKEN.length)
const KEY = Buffer.from(TOKEN)

/** One row of the micro-benchmark: a hook, the token it is shown (undefined: none), the route it lands on. */
export interface MicroMode {
  readonly name: string
  readonly label: string
  readonly hook: DaprTokenHook
  readonly token: string | undefined
  readonly url: string
}

function resolved (options: DaprTokenAuthOptions): ResolvedOptions & { verifier: TokenVerifier } {
  const config = resolveOptions(options, {})
  if (config.verifier === null) throw new Error('bench: options configure no token')
  return config as ResolvedOptions & { verifier: TokenVerifier }
}

function pluginHook (options: DaprTokenAuthOptions): DaprTokenHook {
  const config = resolved(options)
  return buildHook(config, config.verifier, false)
}

const bareEquality: DaprTokenHook = (request, reply, done) => {
  if (request.headers[HEADER] === TOKEN) return done()
  reply.code(401).send()
}

const EMPTY = Buffer.alloc(0)

/**
 * The yardstick for the static-token target: "a header read plus a length-guarded
 * `timingSafeEqual` is about 130-200 ns". Written the way hand-made hooks usually are, a Buffer
 * made from the header per request. Timed next to the plugin, it tells how this host compares with
 * the one the figures came from (bench/run.ts `targets`).
 */
const timingSafe: DaprTokenHook = (request, reply, done) => {
  const value = request.headers[HEADER]
  const presented = typeof value === 'string' ? Buffer.from(value) : EMPTY
  if (presented.length === KEY.length && timingSafeEqual(presented, KEY)) return done()
  reply.code(401).send()
}

/** What the plugin avoids: a hash object per request, then a constant-time compare of the digests. */
const KEY_DIGEST = createHash('sha256').update(KEY).digest()
const perRequestSha256: DaprTokenHook = (request, reply, done) => {
  const digest = createHash('sha256').update(String(request.headers[HEADER])).digest()
  if (timingSafeEqual(digest, KEY_DIGEST)) return done()
  reply.code(401).send()
}

/**
 * Every micro-benchmark row. A new verification mode (JWT HS256/RS256/ES256, cache on and off) is
 * one more entry built with `pluginHook({...})`.
 */
export const MICRO_MODES: readonly MicroMode[] = [
  { name: 'bare-eq', label: 'bare `===` hook (reference)', hook: bareEquality, token: TOKEN, url: '/hello' },
  { name: 'timing-safe', label: 'header read + length-guarded `timingSafeEqual` (reference: the issue\'s yardstick, "about 130-200 ns")', hook: timingSafe, token: TOKEN, url: '/hello' },
  { name: 'sha256', label: 'per-request sha256 + timingSafeEqual (reference: what to avoid)', hook: perRequestSha256, token: TOKEN, url: '/hello' },
  { name: 'static-1', label: 'static, 1 token, accepted', hook: pluginHook({ token: TOKEN }), token: TOKEN, url: '/hello' },
  { name: 'static-1-keep', label: 'static, 1 token, accepted, `stripHeader: false`', hook: pluginHook({ token: TOKEN, stripHeader: false }), token: TOKEN, url: '/hello' },
  { name: 'static-3', label: 'static, 3 tokens, accepted (last)', hook: pluginHook({ token: [...OTHER_TOKENS, TOKEN] }), token: TOKEN, url: '/hello' },
  { name: 'resolver', label: 'keyResolver (sync, same array), 1 token, accepted', hook: pluginHook({ keyResolver: () => [TOKEN] as const }), token: TOKEN, url: '/hello' },
  { name: 'app-refuse', label: 'app role, wrong token, refused (error to the handler)', hook: pluginHook({ token: TOKEN }), token: WRONG_TOKEN, url: '/hello' },
  { name: 'sidecar-refuse', label: 'sidecar role, wrong token, refused (daprd text)', hook: pluginHook({ role: 'sidecar', token: TOKEN }), token: WRONG_TOKEN, url: '/v1.0/state/s' },
  { name: 'missing-refuse', label: 'app role, no token, refused', hook: pluginHook({ token: TOKEN }), token: undefined, url: '/hello' },
  { name: 'exempt', label: 'app role, no token, exempt route (`GET /healthz`)', hook: pluginHook({ token: TOKEN }), token: undefined, url: '/healthz' },
  jwtMode('HS256', false),
  jwtMode('HS256', true),
  jwtMode('RS256', false),
  jwtMode('RS256', true),
  jwtMode('ES256', false),
  jwtMode('ES256', true),
  jwtVerifierMode('HS256'),
  jwtVerifierMode('RS256'),
  jwtVerifierMode('ES256'),
  rawSignatureMode('HS256'),
  rawSignatureMode('HS256', true),
  rawSignatureMode('RS256'),
  rawSignatureMode('ES256')
]

function jwtMode (alg: 'HS256' | 'RS256' | 'ES256', cache: boolean): MicroMode {
  return { name: `jwt-${alg.toLowerCase()}${cache ? '-cache' : ''}`, label: `JWT ${alg}, cache ${cache ? 'on (hit)' : 'off'}, accepted`, hook: pluginHook(jwtOptions(alg, cache)), token: jwtFixture(alg).token, url: '/hello' }
}

/**
 * Uncached JWT verification itself: the verifier the hook calls, shown the header value the way the
 * floor below reads it. The hook's own request handling, the same in every mode (the header read
 * and stripped, `request.daprToken` set), is in the `jwt-*` rows and in `static-1`.
 */
function jwtVerifierMode (alg: 'HS256' | 'RS256' | 'ES256'): MicroMode {
  const { verifier } = resolved(jwtOptions(alg, false))
  const hook: DaprTokenHook = (request, reply, done) => {
    if (typeof verifier.verify(String(request.headers[HEADER]), request) !== 'string') return done()
    reply.code(401).send()
  }
  return { name: `jwt-${alg.toLowerCase()}-verifier`, label: `JWT ${alg}, cache off, the verifier alone (no header strip or request decoration)`, hook, token: jwtFixture(alg).token, url: '/hello' }
}

/**
 * The floor for uncached JWT verification: only the signature check of the same token with
 * node:crypto (split, decode the signature, HMAC or `crypto.verify`), no header, claims or cache.
 */
function rawSignatureMode (alg: 'HS256' | 'RS256' | 'ES256', secretAsKeyObject = false): MicroMode {
  const { verifyKey } = jwtFixture(alg)
  // createHmac parses a string secret on every call; a KeyObject made once is its fastest form.
  const secret = secretAsKeyObject ? createSecretKey(Buffer.from(verifyKey as string)) : verifyKey as string
  const check = (signed: string, signature: Buffer): boolean => {
    if (alg === 'HS256') {
      const expected = createHmac('sha256', secret).update(signed).digest()
      return expected.length === signature.length && timingSafeEqual(expected, signature)
    }
    const key = alg === 'ES256' ? { key: verifyKey as KeyObject, dsaEncoding: 'ieee-p1363' as const } : verifyKey as KeyObject
    return verify('sha256', Buffer.from(signed), key, signature)
  }
  const hook: DaprTokenHook = (request, reply, done) => {
    const token = String(request.headers[HEADER])
    const dot = token.lastIndexOf('.')
    if (check(token.slice(0, dot), Buffer.from(token.slice(dot + 1), 'base64url'))) return done()
    reply.code(401).send()
  }
  if (secretAsKeyObject) {
    return { name: `raw-${alg.toLowerCase()}-keyobject`, label: `for scale: node:crypto signature check alone, ${alg}, the secret as a KeyObject made once`, hook, token: jwtFixture(alg).token, url: '/hello' }
  }
  return { name: `raw-${alg.toLowerCase()}`, label: `for scale: node:crypto signature check alone, ${alg} (the uncached floor)`, hook, token: jwtFixture(alg).token, url: '/hello' }
}

const BATCH_MS = 8
const MAX_BATCH = 20_000

const noop = (): void => {}
const log = { fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop }

/** What daprd sends an app besides the token (Go canonicalises the names), so stripping works on a real-sized set. */
const DAPRD_HEADERS = ['Host', '127.0.0.1:3000', 'User-Agent', 'Go-http-client/1.1', 'Content-Length', '0',
  'Content-Type', 'application/json', 'Traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'Accept-Encoding', 'gzip']

/** Fastify's request reads `headers` through to the Node message, as here. */
class FakeRequest {
  readonly raw: { headers: Record<string, string>, rawHeaders: string[], [HEADERS_COUNT]: number }
  readonly method = 'GET'
  readonly routeOptions: { url: string, config: object }
  readonly log = log
  daprToken = null
  constructor ({ raw: template, names, fresh, freshAt }: Template, url: string) {
    const rawHeaders = template.slice()
    // A new string per request, as the parser makes: V8 caches a string's hash in the string, so a
    // token reused across calls would make any map lookup by it look cheaper than a request's. A
    // request without a token gets one new value too, so that every mode pays the same harness cost.
    rawHeaders[freshAt] = fresh.toString('latin1')
    // Built the way Node's parser builds it: one keyed store per header line, in arrival order.
    const headers: Record<string, string> = {}
    for (let i = 0; i < names.length; i++) headers[names[i] as string] = rawHeaders[2 * i + 1] as string
    // With the header count Node's parser records, which the strip keeps in step.
    this.raw = { headers, rawHeaders, [HEADERS_COUNT]: rawHeaders.length }
    this.routeOptions = { url, config: {} }
  }

  get headers (): Record<string, string> { return this.raw.headers }
}

/**
 * A string as Node's parser makes one from the bytes read: flat, not interned. A token built by
 * `repeat` or by concatenation (a JWT) is a rope, which every character read has to walk.
 */
function offTheWire (text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1')
}

/**
 * rawHeaders as daprd sends them with this token (after Content-Type), the parsed names, and the
 * value made anew per request: the token's, or without one the Traceparent's.
 */
interface Template { raw: string[], names: string[], fresh: Buffer, freshAt: number }
/** Where the token's name goes in rawHeaders: after daprd's first four lines. */
const TOKEN_LINE = 8
const templates = new Map<string | undefined, Template>()
function templateFor (token: string | undefined): Template {
  let template = templates.get(token)
  if (template === undefined) {
    const lines = token === undefined ? [...DAPRD_HEADERS] : [...DAPRD_HEADERS.slice(0, TOKEN_LINE), 'Dapr-Api-Token', token, ...DAPRD_HEADERS.slice(TOKEN_LINE)]
    const raw = lines.map(offTheWire)
    const freshAt = token === undefined ? raw.indexOf('Traceparent') + 1 : TOKEN_LINE + 1
    template = { raw, names: raw.filter((_, i) => i % 2 === 0).map(name => name.toLowerCase()), fresh: Buffer.from(raw[freshAt] as string, 'latin1'), freshAt }
    // Distinct random tokens (the memory run) must not be remembered.
    if (templates.size < 64) templates.set(token, template)
  }
  return template
}

/**
 * A fresh request as the hook sees it, as Fastify makes one per request (the hook strips the token
 * header on success, so reusing one object would measure V8's slow path for deleted properties).
 */
function fakeRequest (token: string | undefined, url: string): FastifyRequest {
  return new FakeRequest(templateFor(token), url) as unknown as FastifyRequest
}

function fakeReply (): FastifyReply {
  const reply = { sent: false, code: () => reply, header: () => reply, send: () => reply }
  return reply as unknown as FastifyReply
}

const done: HookHandlerDoneFunction = noop as HookHandlerDoneFunction

/** The harness alone: reads the header so that the request object is really built, then calls `done`. */
let sink: unknown
const harnessOnly: DaprTokenHook = (request, _reply, next) => { sink = request.headers[HEADER]; next() }

const HARNESS: MicroMode = { name: 'harness', label: 'the harness alone', hook: harnessOnly, token: TOKEN, url: '/hello' }

/**
 * The fastest batch of each mode, in ns per call, the harness's own cost (a fresh request object
 * per call) included. The minimum, not the median: on a shared machine every disturbance only adds
 * time, so the least disturbed batch is the best estimate of the cost. Batches last about
 * `BATCH_MS` whatever the mode costs (20,000 calls of a static-token check, a hundred of an
 * uncached ES256 verification), so slow modes do not stretch the run. The modes are interleaved:
 * a batch of each in turn, `rounds` times over, after a warm-up batch of each. A slow spell of the
 * machine then costs every row one batch rather than one row all of its batches, and no row is
 * timed while code it shares with later rows (the hook, the header strip) is still being optimised.
 */
/**
 * The process that started this one. If it goes (the runner killed by SIGKILL, which it cannot
 * catch to stop us), this process is handed to another parent: it then stops rather than run on,
 * pinned to the server core, for the rest of its measurements. Looked at between rounds: a busy
 * loop never sees an IPC channel close.
 */
const PARENT = process.ppid
function stopIfOrphaned (): void {
  if (process.ppid !== PARENT) process.exit(1)
}

export function timeInterleaved (modes: readonly MicroMode[], rounds: number): number[] {
  const reply = fakeReply()
  const batches = modes.map(mode => {
    const probeStart = process.hrtime.bigint()
    for (let i = 0; i < 200; i++) mode.hook(fakeRequest(mode.token, mode.url), reply, done)
    const probeNs = Number(process.hrtime.bigint() - probeStart) / 200
    return Math.max(50, Math.min(MAX_BATCH, Math.round(BATCH_MS * 1e6 / probeNs)))
  })
  const best = modes.map(() => Infinity)
  for (let r = -1; r < rounds; r++) {
    modes.forEach((mode, m) => {
      const batch = batches[m] as number
      const start = process.hrtime.bigint()
      for (let i = 0; i < batch; i++) mode.hook(fakeRequest(mode.token, mode.url), reply, done)
      // Round -1 is the warm-up.
      if (r >= 0) best[m] = Math.min(best[m] as number, Number(process.hrtime.bigint() - start) / batch)
    })
    stopIfOrphaned()
  }
  return best
}

/** RSS and heap around 1 million refusals, each of a distinct random token. */
/** A distinct random token, of the shape of none the plugin accepts. */
const randomToken = (): string => randomBytes(24).toString('base64url')

const FORGED_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
const FORGED_SIGNATURE = randomBytes(32).toString('base64url')
let forged = 0
/** A well-formed JWT with a payload of its own and a wrong signature: it reaches the signature check. */
const forgedJwt = (): string => {
  const payload = Buffer.from(`{"sub":"${++forged}","exp":${Math.floor(Date.now() / 1000) + 3600}}`).toString('base64url')
  return `${FORGED_HEADER}.${payload}.${FORGED_SIGNATURE}`
}

/**
 * The floods the memory run sends, each to a mode's hook, in a process that runs nothing else.
 * `target`: the flood (distinct random bad tokens), checked in bench/RESULTS.md; the
 * forged-JWT rows are reported only.
 */
const MEMORY_FLOODS: ReadonlyArray<{ name: string, label?: string, fresh: () => string, target: boolean }> = [
  { name: 'sidecar-refuse', fresh: randomToken, target: true },
  { name: 'app-refuse', fresh: randomToken, target: true },
  { name: 'harness', label: 'for scale: the same JWT flood to a hook that only reads the header', fresh: forgedJwt, target: false },
  { name: 'jwt-hs256-cache', label: 'JWT HS256 (cache on), distinct well-formed tokens with wrong signatures, refused', fresh: forgedJwt, target: false }
]

function memoryOverRefusals (mode: MicroMode, count: number, fresh: () => string): Record<string, number> {
  const gc = (globalThis as { gc?: () => void }).gc ?? noop
  const reply = fakeReply()
  const send = (n: number): void => {
    for (let i = 0; i < n; i++) {
      mode.hook(fakeRequest(fresh(), mode.url), reply, done)
      if (i % 65_536 === 0) stopIfOrphaned()
    }
  }
  send(Math.max(20_000, count / 10))
  gc()
  const before = { rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024, heap: process.memoryUsage().heapUsed }
  send(count)
  const afterNoGc = process.memoryUsage().rss
  gc()
  const after = { rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024, heap: process.memoryUsage().heapUsed }
  return {
    requests: count,
    peakRssBeforeMB: mb(before.maxRss),
    peakRssAfterMB: mb(after.maxRss),
    rssBeforeMB: mb(before.rss),
    rssAfterMB: mb(after.rss),
    rssAfterBeforeGcMB: mb(afterNoGc),
    heapBeforeMB: mb(before.heap),
    heapAfterMB: mb(after.heap)
  }
}

function mb (bytes: number): number {
  return Math.round(bytes / 1024 / 102.4) / 10
}

function main (): void {
  // Short batches, many of them: on a shared machine the fastest short batch is the one no other process interrupted.
  const rounds = 31
  // BENCH_MICRO_ROWS=static-1,app-refuse: only those rows, for a quick look while working on the hook.
  const only = process.env.BENCH_MICRO_ROWS?.split(',')
  // BENCH_MICRO_TIMINGS=0: memory only, in a process whose peak RSS no timing run has raised yet.
  const modes = process.env.BENCH_MICRO_TIMINGS === '0' ? [] : MICRO_MODES.filter(mode => only === undefined || only.includes(mode.name))
  const [baseline, ...gross] = (modes.length === 0 ? [0] : timeInterleaved([HARNESS, ...modes], rounds)) as [number, ...number[]]
  const rows = modes.map((mode, m) => {
    const ns = gross[m] as number
    return { name: mode.name, label: mode.label, nsPerCall: Math.max(0, Math.round(ns - baseline)), grossNs: Math.round(ns) }
  })
  // 0: timings only (the runner measures memory in a process of its own).
  const count = Number(process.env.BENCH_MEMORY_REQUESTS ?? 1_000_000)
  const memory = (count <= 0 ? [] : MEMORY_FLOODS).map(({ name, label, fresh, target }) => {
    const mode = name === HARNESS.name ? HARNESS : MICRO_MODES.find(candidate => candidate.name === name) as MicroMode
    return { name, label: label ?? mode.label, target, ...memoryOverRefusals(mode, count, fresh) }
  })
  process.stdout.write(JSON.stringify({ harnessNs: Math.round(baseline), rows, memory, sink: typeof sink }) + '\n')
}

// Run when started as a script; other tools (an A/B comparison of two builds) import the modes and the timer.
if (require.main === module) main()
