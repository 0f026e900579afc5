// Positive type cases, checked by `npm run test:types` against the built package as a CommonJS
// consumer sees it (`dist/index.d.ts`, resolved through the package's own `exports`).
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyAuth from '@fastify/auth'
import defaultExport, {
  daprTokenAuth,
  DaprTokenInvalidError,
  type DaprTokenAuthOptions,
  type DaprTokenCredential,
  type DaprTokenHook,
  type DaprTokenRefusalError,
  type ExemptRouteInfo,
  type KeyResolver
} from 'fastify-dapr-token-auth'

export async function positive (): Promise<void> {
  const app = Fastify()
  const same: typeof daprTokenAuth = defaultExport
  await app.register(same)
  await app.register(daprTokenAuth, {
    role: 'sidecar',
    token: ['new', 'old'],
    envVar: 'MY_TOKEN',
    header: 'x-token',
    exempt: ['GET /healthz', { method: ['GET', 'HEAD'], url: '/ready' }, { method: 'POST', url: '/hooks' }],
    stripHeader: false,
    addHook: false,
    errorResponse: 'daprd',
    whenUnconfigured: 'allow',
    logLevel: 'warn'
  })
  await app.register(daprTokenAuth, { token: 'one', errorResponse: 'fastify', logLevel: 'silent' })
  await app.register(daprTokenAuth, {
    exempt: (route: ExemptRouteInfo, request: FastifyRequest) => route.url === '/open' && request.method === 'GET',
    errorResponse: (error: DaprTokenRefusalError, _request: FastifyRequest, reply: FastifyReply) => {
      reply.header('www-authenticate', 'DaprToken')
      return { refused: error.code, status: error.statusCode }
    }
  })
  await app.register(daprTokenAuth, { errorResponse: async error => await Promise.resolve(error.message) })

  const sync: KeyResolver = () => 'token'
  const list: KeyResolver = () => ['a', 'b'] as const
  const async: KeyResolver = async request => await Promise.resolve(request.headers['x-tenant'] === 'a' ? ['a'] : ['b'])
  const options: DaprTokenAuthOptions[] = [{ keyResolver: sync }, { keyResolver: list }, { keyResolver: async }]
  for (const each of options) await app.register(daprTokenAuth, each)

  app.get('/metrics', { config: { daprTokenAuth: false } }, async () => 'open')
  app.get('/guarded', { onRequest: app.verifyDaprToken }, async request => {
    const credential: DaprTokenCredential | null = request.daprToken
    if (credential !== null && credential.kind === 'static') {
      const index: number = credential.index
      const fingerprint: string = credential.fingerprint
      return { index, fingerprint }
    }
    return null
  })
  const hook: DaprTokenHook = app.verifyDaprToken
  app.get('/hooks', { onRequest: [hook] }, async () => 'ok')

  await app.register(fastifyAuth)
  app.get('/either', { onRequest: app.auth([app.verifyDaprToken]) }, async () => 'ok')
}

export const invalidCode: string = new DaprTokenInvalidError().code
