import { test } from 'tap'
import { DaprClient, CommunicationProtocolEnum } from '@dapr/dapr'
import Fastify from 'fastify'
import daprTokenAuth from '../lib/index.js'
import { createFakeSidecar } from '../lib/testing/index.js'

test('scratch', async t => {
  const app = Fastify()
  await app.register(daprTokenAuth, { token: 'app-token' })
  app.addContentTypeParser('application/cloudevents+json', { parseAs: 'string' }, (_r, b, d) => d(null, JSON.parse(b as string)))
  app.get('/dapr/subscribe', async () => [{ pubsubname: 'pubsub', topic: 'orders', route: '/orders' }])
  app.post('/orders', async (req) => { console.log('delivered', req.body); return { status: 'SUCCESS' } })
  app.all('/hello', async (req) => ({ method: req.method, token: req.headers['dapr-api-token'] ?? null, cred: req.daprToken }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const sidecar = createFakeSidecar({ token: 'sidecar-token', appToken: 'app-token', appUrl: `http://127.0.0.1:${(app.server.address() as any).port}` })
  await sidecar.listen({ host: '127.0.0.1', port: 0 })
  const port = (sidecar.server.address() as any).port
  const client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(port), daprApiToken: 'sidecar-token', communicationProtocol: CommunicationProtocolEnum.HTTP })
  await client.start()
  console.log(await client.state.save('statestore', [{ key: 'a', value: { x: 1 } }]))
  console.log(await client.state.get('statestore', 'a'))
  console.log(await client.state.get('statestore', 'missing'))
  console.log(await client.state.getBulk('statestore', ['a', 'b']))
  console.log(await client.pubsub.publish('pubsub', 'orders', { id: 1 }))
  console.log(await client.invoker.invoke('app', 'hello', 'POST' as any, { a: 1 }))
  console.log(await client.binding.send('mybinding', 'create', { a: 1 }))
  console.log(await client.metadata.get())
  await sidecar.dapr.settled()
  console.log(JSON.stringify(sidecar.dapr.published), sidecar.dapr.calls)
  await client.sidecar.shutdown()
  console.log(sidecar.dapr.shutdowns)
  sidecar.dapr.setToken('other')
  console.log(await client.state.save('statestore', [{ key: 'a', value: { x: 1 } }]))
  await client.stop()
  await sidecar.close(); await app.close()
})
