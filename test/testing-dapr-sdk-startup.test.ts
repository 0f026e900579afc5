import t from 'tap'
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { createFakeSidecar } from '../lib/testing/index.js'
import { listen } from './helpers/http.js'

/*
 * The one slow test (~31 s): with a wrong token, DaprClient's start-up polls GET /v1.0/metadata
 * every 500 ms, 62 times, each refused, then gives up with DAPR_SIDECAR_COULD_NOT_BE_STARTED,
 * exactly as against daprd. The SDK has no documented option to shorten this wait. Kept in its own
 * file so it runs alongside the others.
 */
t.setTimeout(120_000)

t.test('a DaprClient with a wrong token cannot start: every metadata probe is refused with 401', async t => {
  const sidecar = createFakeSidecar({ token: 'the-right-token' })
  t.teardown(() => sidecar.close())
  const { port } = await listen(sidecar)
  const dapr = new DaprClient({
    daprHost: '127.0.0.1', daprPort: String(port), daprApiToken: 'a-wrong-token', communicationProtocol: CommunicationProtocolEnum.HTTP, logger: { level: LogLevel.Error }
  })
  t.teardown(() => dapr.stop())
  await t.rejects(dapr.start(), { message: 'DAPR_SIDECAR_COULD_NOT_BE_STARTED' })
  const probes = sidecar.dapr.calls
  t.ok(probes.length > 60, `${probes.length} probes`)
  t.ok(probes.every(call => call.method === 'GET' && call.path === '/v1.0/metadata' && call.status === 401), 'all of them GET /v1.0/metadata, all 401')
})
