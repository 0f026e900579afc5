// `npm run demo`: the built package end to end on the real @dapr/dapr client, all on 127.0.0.1.
//
// A fake Dapr sidecar (this package's `sidecar` role) and an app server (the `app` role) start;
// the real DaprClient (HTTP) talks to the sidecar with the right token, then with a wrong one;
// then the app is called the way daprd calls it. Prints a table; exits 0 only if every outcome is
// the expected one. Imports go through the package's own entry points (its `exports` map, built
// into dist/), exactly as a user's code would.
import Fastify from 'fastify'
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr'
import daprTokenAuth, { fingerprint } from 'fastify-dapr-token-auth'
import { callAsDapr, createFakeSidecar } from 'fastify-dapr-token-auth/testing'

const DAPR_API_TOKEN = 'demo-dapr-api-token' // what callers of the sidecar present
const APP_API_TOKEN = 'demo-app-api-token' // what the sidecar presents to the app
const HOST = '127.0.0.1'

const rows = []
/** One line of the table: what was tried, what daprd-compatible behaviour expects, what happened. */
function row (tried, expected, got) {
  rows.push({ tried, expected: String(expected), got: String(got), ok: String(expected) === String(got) })
}
/** What a rejected SDK call carried: the SDK throws `Error(JSON.stringify({ error, error_msg, status }))`. */
function sdkFailure (error) {
  try {
    const { status, error_msg: body } = JSON.parse(error.message)
    return `${status} ${JSON.stringify(body)}`
  } catch {
    return error.message
  }
}

// The app: verifies APP_API_TOKEN, exempts its health probe, handles a pub/sub topic and a method.
const app = Fastify()
const deliveries = []
const invocations = []
await app.register(daprTokenAuth, { role: 'app', token: APP_API_TOKEN })
app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_request, body, done) => {
  try { done(null, JSON.parse(body)) } catch (error) { done(error) }
})
app.get('/healthz', async () => 'ok')
app.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
app.post('/orders', async request => {
  deliveries.push({ data: request.body.data, credential: request.daprToken })
  return { status: 'SUCCESS' }
})
app.post('/greet', async request => {
  invocations.push({ credential: request.daprToken, tokenHeader: request.headers['dapr-api-token'] ?? null })
  return { hello: request.body?.name ?? 'you' }
})
await app.listen({ host: HOST, port: 0 })
const appUrl = `http://${HOST}:${app.server.address().port}`

// The fake sidecar: verifies DAPR_API_TOKEN like daprd, calls the app with APP_API_TOKEN.
const sidecar = createFakeSidecar({ token: DAPR_API_TOKEN, appToken: APP_API_TOKEN, appId: 'demo-app', appUrl })
await sidecar.listen({ host: HOST, port: 0 })
const sidecarPort = sidecar.server.address().port

const quiet = { error () {}, warn () {}, info () {}, verbose () {}, debug () {} }
const client = new DaprClient({
  daprHost: HOST,
  daprPort: String(sidecarPort),
  daprApiToken: DAPR_API_TOKEN,
  communicationProtocol: CommunicationProtocolEnum.HTTP,
  logger: { level: LogLevel.Error, service: quiet }
})
const appTokenPrint = fingerprint(APP_API_TOKEN)

try {
  // 1. The real DaprClient with the right token.
  await client.start()
  const probe = sidecar.dapr.calls[0]
  row('DaprClient start-up (polls GET /v1.0/metadata)', 'started after GET /v1.0/metadata 200', `started after ${probe.method} ${probe.path} ${probe.status}`)

  const saved = await client.state.save('statestore', [{ key: 'order-1', value: { item: 'tea', qty: 2 } }])
  row('state.save order-1 (right token)', 'saved (204)', saved.error === undefined ? 'saved (204)' : sdkFailure(saved.error))
  const got = await client.state.get('statestore', 'order-1')
  row('state.get order-1 (right token)', '{"item":"tea","qty":2}', JSON.stringify(got))

  const published = await client.pubsub.publish('pubsub', 'orders', { orderId: 1 })
  await sidecar.dapr.settled()
  row('pubsub.publish orders (right token)', 'accepted (204)', published.error === undefined ? 'accepted (204)' : sdkFailure(published.error))
  const delivery = deliveries[0]
  row('  -> CloudEvent delivered to the app\'s /orders', `{"orderId":1} with APP token ${appTokenPrint}`,
    delivery === undefined ? 'not delivered' : `${JSON.stringify(delivery.data)} with APP token ${delivery.credential?.fingerprint}`)

  const greeting = await client.invoker.invoke('demo-app', 'greet', HttpMethod.POST, { name: 'Ada' })
  row('invoker.invoke demo-app/greet (right token)', '{"hello":"Ada"}', JSON.stringify(greeting))
  const invocation = invocations[0]
  row('  -> forwarded with the APP token, not the caller\'s', `APP token ${appTokenPrint}, caller's token absent`,
    invocation === undefined ? 'not forwarded' : `APP token ${invocation.credential?.fingerprint}, caller's token ${invocation.tokenHeader === null ? 'absent' : 'PRESENT'}`)

  // 2. A wrong token. A fresh DaprClient with a wrong token retries its start-up for ~30 s and then
  // fails with DAPR_SIDECAR_COULD_NOT_BE_STARTED (the test suite proves it); here the sidecar is
  // "restarted" with a new DAPR_API_TOKEN, so the already started client now holds a wrong one.
  sidecar.dapr.setToken('a-new-dapr-api-token')
  const refusedGet = await client.state.get('statestore', 'order-1').then(() => 'succeeded', sdkFailure)
  row('state.get with a wrong token (sidecar token rotated)', '401 "invalid api token\\n"', refusedGet)
  const refusedSave = await client.state.save('statestore', [{ key: 'order-2', value: 1 }])
  row('state.save with a wrong token (SDK resolves { error })', '401 "invalid api token\\n"', refusedSave.error === undefined ? 'succeeded' : sdkFailure(refusedSave.error))
  const refusedInvoke = await client.invoker.invoke('demo-app', 'greet', HttpMethod.POST, { name: 'Eve' }).then(() => 'succeeded', sdkFailure)
  row('invoker.invoke with a wrong token', '401 "invalid api token\\n"', refusedInvoke)
  row('  -> nothing refused reached the app', '1 invocation', `${invocations.length} invocation${invocations.length === 1 ? '' : 's'}`)
  const raw = await fetch(`http://${HOST}:${sidecarPort}/v1.0/metadata`, { headers: { 'dapr-api-token': DAPR_API_TOKEN } })
  row('raw GET /v1.0/metadata with the old token', '401 text/plain; charset=utf-8 nosniff "invalid api token\\n"',
    `${raw.status} ${raw.headers.get('content-type')} ${raw.headers.get('x-content-type-options')} ${JSON.stringify(await raw.text())}`)
  const health = await fetch(`http://${HOST}:${sidecarPort}/v1.0/healthz`)
  row('sidecar GET /v1.0/healthz with no token', '204', health.status)

  // 3. The app, called the way daprd calls it.
  const asDaprd = callAsDapr(appUrl, { token: APP_API_TOKEN })
  const withToken = await asDaprd.invoke('greet', { method: 'POST', body: { name: 'Grace' } })
  row('app POST /greet with the APP token', '200 {"hello":"Grace"}', `${withToken.statusCode} ${withToken.body}`)
  const withoutToken = await asDaprd.invoke('greet', { method: 'POST', body: {}, token: null })
  row('app POST /greet without a token', '401 FST_DAPR_TOKEN_MISSING', `${withoutToken.statusCode} ${withoutToken.json().code}`)
  const callersToken = await asDaprd.invoke('greet', { method: 'POST', body: {}, token: DAPR_API_TOKEN })
  row('app POST /greet with the caller\'s DAPR token', '401 FST_DAPR_TOKEN_INVALID', `${callersToken.statusCode} ${callersToken.json().code}`)
  const delivered = await asDaprd.deliver({ topic: 'orders', data: { orderId: 2 } })
  row('app pub/sub delivery (CloudEvent, APP token)', '200 SUCCESS', `${delivered.statusCode} ${delivered.answer}`)
  const appProbe = await asDaprd.healthProbe()
  row('app health probe GET /healthz, no token', '200 ok', `${appProbe.statusCode} ${appProbe.body}`)
} catch (error) {
  row('the demo itself', 'runs to the end', `threw: ${error.message}`)
} finally {
  await client.stop()
  await sidecar.close()
  await app.close()
}

const headers = { tried: 'what was tried', expected: 'expected', got: 'got', ok: 'ok?' }
const width = key => Math.max(headers[key].length, ...rows.map(r => String(r[key]).length))
const widths = { tried: width('tried'), expected: width('expected'), got: width('got') }
const line = r => `${r.tried.padEnd(widths.tried)} | ${r.expected.padEnd(widths.expected)} | ${r.got.padEnd(widths.got)} | ${r.ok}`
console.log(line(headers))
console.log(`${'-'.repeat(widths.tried)}-+-${'-'.repeat(widths.expected)}-+-${'-'.repeat(widths.got)}-+-----`)
for (const r of rows) console.log(line({ ...r, ok: r.ok ? 'ok' : 'FAILED' }))
const failed = rows.filter(r => !r.ok).length
console.log(failed === 0 ? `\nAll ${rows.length} outcomes as expected.` : `\n${failed} of ${rows.length} outcomes NOT as expected.`)
process.exitCode = failed === 0 ? 0 : 1
