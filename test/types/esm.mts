// The ESM face (`dist/index.d.mts`): the default import and the named export are the same plugin.
import Fastify from 'fastify'
import daprTokenAuth, { daprTokenAuth as named, DaprTokenMissingError, type DaprTokenAuthOptions } from 'fastify-dapr-token-auth'

const app = Fastify()
const options: DaprTokenAuthOptions = { role: 'app', token: 'x' }
await app.register(daprTokenAuth, options)
export const same: typeof named = daprTokenAuth
export const code: 'FST_DAPR_TOKEN_MISSING' | string = new DaprTokenMissingError().code
// @ts-expect-error role is 'app' | 'sidecar'
await app.register(daprTokenAuth, { role: 'client' })
