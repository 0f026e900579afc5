import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import daprTokenAuth, { fingerprint, fromFile } from '../lib/index.js'
import { listen, send } from './helpers/http.js'
import { SecretVolume } from './helpers/kubelet.js'
import { eventually, tempDir } from './helpers/wait.js'

const SWAPS = 20
const GRACE_MS = 400
const WORKERS = 4
const MAX_REQUESTS_PER_WORKER = 20_000

test('a Secret volume swapped 20 times by the kubelet under load: no valid token refused, no 5xx, new token taken, old one retired after its grace', async t => {
  const dir = await tempDir(t)
  const volume = new SecretVolume(dir)
  // `openssl rand 16 | base64`, written the classic way with a trailing newline.
  const tokens = Array.from({ length: SWAPS + 1 }, () => randomBytes(16).toString('base64'))
  await volume.write({ token: `${tokens[0]}\n` })

  const logLines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, callback) { logLines.push(String(chunk)); callback() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  const source = fromFile(join(dir, 'token'), { graceMs: GRACE_MS, debounceMs: 20 })
  await app.register(daprTokenAuth, { keyResolver: source, logLevel: 'silent' })
  app.post('/orders', async () => ({ ok: true }))
  t.teardown(() => app.close())
  const { port } = await listen(app)

  // The sidecar: sends its token until it is "restarted" with the new one.
  const sidecar = { token: tokens[0] as string, swapping: -1 }
  const refusedValid: string[] = []
  const serverErrors: number[] = []
  let sent = 0
  let oldTokenAcceptedDuringSwap = 0
  const loop = { stop: false }

  async function worker (): Promise<void> {
    for (let i = 0; i < MAX_REQUESTS_PER_WORKER && !loop.stop; i++) {
      const token = sidecar.token
      const duringSwap = sidecar.swapping !== -1 && token === tokens[sidecar.swapping - 1]
      const response = await send(port, 'POST', '/orders', { 'dapr-api-token': token, 'content-type': 'application/json' }, '{}')
      sent++
      if (response.statusCode >= 500) serverErrors.push(response.statusCode)
      else if (response.statusCode !== 200) refusedValid.push(`${response.statusCode} for ${fingerprint(token)}`)
      else if (duringSwap) oldTokenAcceptedDuringSwap++
    }
  }
  const workers = Array.from({ length: WORKERS }, worker)

  for (let i = 1; i <= SWAPS; i++) {
    const next = tokens[i] as string
    const previous = tokens[i - 1] as string
    sidecar.swapping = i
    await volume.write({ token: `${next}\n` })
    const taken = await eventually(async () =>
      (await send(port, 'POST', '/orders', { 'dapr-api-token': next })).statusCode === 200, 100, 20)
    t.ok(taken, `swap ${i}: the new token is accepted within 100 polls 20 ms apart (about 2 s)`)
    // daprd restarted with the new token: the old one is now only in its grace window.
    sidecar.token = next
    sidecar.swapping = -1
    const retired = await eventually(async () =>
      (await send(port, 'POST', '/orders', { 'dapr-api-token': previous })).statusCode === 401, 100, 20)
    t.ok(retired, `swap ${i}: the old token is refused once its ${GRACE_MS} ms grace has passed`)
    t.same(source.state().fingerprints, [fingerprint(next)])
  }
  loop.stop = true
  await Promise.all(workers)

  t.same(refusedValid, [], 'no request carrying a then-valid token was refused')
  t.same(serverErrors, [], 'no 5xx')
  t.ok(sent > SWAPS, `the request loop ran (${sent} requests)`)
  t.ok(oldTokenAcceptedDuringSwap > 0, `old tokens were accepted while a swap was under way (${oldTokenAcceptedDuringSwap})`)
  for (const token of tokens.slice(0, -1)) {
    t.equal((await send(port, 'POST', '/orders', { 'dapr-api-token': token })).statusCode, 401)
  }

  const log = logLines.join('')
  for (const token of tokens) t.notOk(log.includes(token), 'no token in the logs')
  const changes = logLines.map(line => JSON.parse(line)).filter(line => line.msg === 'Dapr API token keys changed')
  t.equal(changes.length, SWAPS, 'each swap is logged once')
  t.same(changes[0].daprTokenKeys, {
    source: `file ${join(dir, 'token')}`,
    fingerprints: [fingerprint(tokens[1] as string)],
    added: [fingerprint(tokens[1] as string)],
    removed: [fingerprint(tokens[0] as string)],
    graceMs: GRACE_MS
  })
  t.equal(logLines.filter(line => JSON.parse(line).level >= 50).length, 0, 'no error logged')
})
