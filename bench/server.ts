// One benchmark server, run as its own process (pinned to a core by the runner). Tells the runner
// its port over IPC, answers `cpu` with its own process.cpuUsage(), and exits on SIGTERM or when
// the runner's IPC channel closes.
import Fastify from 'fastify'
import { HTTP_SCENARIOS } from './scenarios.js'

async function start (): Promise<void> {
  const scenario = HTTP_SCENARIOS.find(candidate => candidate.name === process.argv[2])
  if (scenario === undefined || process.send === undefined) throw new Error(`usage: server.js <scenario> (with an IPC channel); got ${String(process.argv[2])}`)
  const app = Fastify({ logger: false })
  await scenario.setup(app)
  app.get('/hello', async () => ({ hello: 'world' }))
  app.get('/healthz', async () => ({ ok: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  process.on('message', message => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() })
  })
  process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
  // The runner gone without stopping it (killed by a signal it could not catch): no server is left behind.
  process.on('disconnect', () => { process.exit(0) })
  const headers = typeof scenario.headers === 'function' ? scenario.headers() : scenario.headers
  process.send({ port: typeof address === 'object' && address !== null ? address.port : 0, headers })
}

start().catch(error => {
  console.error(error)
  process.exit(1)
})
