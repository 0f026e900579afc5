// The app of examples/kubernetes/app.yaml: verifies the calls of its Dapr sidecar with the token
// mounted from the Secret the sidecar reads, and follows that Secret when it is rotated.
//
//   APP_API_TOKEN_FILE=./token node examples/kubernetes/app.mjs   (after `npm run build`)
import Fastify from 'fastify'
import daprTokenAuth, { fromFile } from 'fastify-dapr-token-auth'

const tokens = fromFile(process.env.APP_API_TOKEN_FILE ?? '/var/run/secrets/dapr-app-token/token', {
  // The old token stays valid this long after the kubelet swaps the file: the time a rollout needs
  // to replace the pods whose sidecars still send it.
  graceMs: Number(process.env.APP_API_TOKEN_GRACE_MS ?? 300_000)
})

const app = Fastify({ logger: true })
// Fails at ready() when the file is missing or empty; logs each change by fingerprint.
await app.register(daprTokenAuth, { keyResolver: tokens })

app.get('/healthz', async () => 'ok') // daprd's health probe sends no token: exempt by default
// Fingerprints, grace windows, last reload and last error; reachable only inside the pod.
app.get('/internal/token-keys', { config: { daprTokenAuth: false } }, async () => tokens.state())
app.post('/orders', async request => ({ accepted: true, key: request.daprToken?.fingerprint }))

// daprd reaches the app over the pod's loopback interface; close() releases the file watcher.
await app.listen({ host: '127.0.0.1', port: Number(process.env.APP_PORT ?? 3000) })
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => { app.close() })
