// Negative type cases: each line must be a type error (`@ts-expect-error` fails if it is not).
import Fastify from 'fastify'
import daprTokenAuth from 'fastify-dapr-token-auth'

export async function negative (): Promise<void> {
  const app = Fastify()
  // @ts-expect-error role is 'app' | 'sidecar'
  await app.register(daprTokenAuth, { role: 'client' })
  // @ts-expect-error token is a string or strings
  await app.register(daprTokenAuth, { token: 42 })
  // @ts-expect-error token entries are strings
  await app.register(daprTokenAuth, { token: ['a', 1] })
  // @ts-expect-error header is a string
  await app.register(daprTokenAuth, { header: 42 })
  // @ts-expect-error exempt is an array or a predicate, not a string
  await app.register(daprTokenAuth, { exempt: 'GET /healthz' })
  // @ts-expect-error an exempt route needs a url
  await app.register(daprTokenAuth, { exempt: [{ method: 'GET' }] })
  // @ts-expect-error an exempt predicate returns a boolean
  await app.register(daprTokenAuth, { exempt: () => 'yes' })
  // @ts-expect-error stripHeader is a boolean
  await app.register(daprTokenAuth, { stripHeader: 'no' })
  // @ts-expect-error addHook is a boolean
  await app.register(daprTokenAuth, { addHook: 1 })
  // @ts-expect-error errorResponse is 'daprd', 'fastify' or a function
  await app.register(daprTokenAuth, { errorResponse: 'json' })
  // @ts-expect-error whenUnconfigured is 'fail' | 'allow'
  await app.register(daprTokenAuth, { whenUnconfigured: 'open' })
  // @ts-expect-error logLevel is a pino level or 'silent'
  await app.register(daprTokenAuth, { logLevel: 'verbose' })
  // @ts-expect-error keyResolver is a function
  await app.register(daprTokenAuth, { keyResolver: ['a'] })
  // @ts-expect-error keyResolver returns tokens
  await app.register(daprTokenAuth, { keyResolver: () => 42 })
  // @ts-expect-error envVar is a string
  await app.register(daprTokenAuth, { envVar: true })

  // @ts-expect-error route config daprTokenAuth is a boolean
  app.get('/x', { config: { daprTokenAuth: 'off' } }, async () => 'x')

  app.get('/y', async request => {
    // @ts-expect-error daprToken is null until verified
    return request.daprToken.kind
  })
  app.get('/z', async request => {
    // @ts-expect-error the credential never holds the token
    return request.daprToken?.token
  })
  // @ts-expect-error verifyDaprToken is a hook, not a promise-returning check
  await app.verifyDaprToken()
}
