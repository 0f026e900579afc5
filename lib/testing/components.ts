import type { FastifyInstance } from 'fastify'
import { DaprApiFailure, malformed, parseJsonBody, sendJson } from './api-error.js'

/** One call to an output binding, as the fake sidecar recorded it. */
export interface BindingCall {
  name: string
  operation: string
  data: unknown
  metadata: Record<string, string>
}

/**
 * Output bindings (`POST|PUT /v1.0/bindings/{name}`): each call is recorded and answered 204.
 * `names`: the bindings that exist; `undefined` accepts any name.
 */
export function bindingRoutes (fastify: FastifyInstance, names: ReadonlySet<string> | undefined, calls: BindingCall[]): void {
  fastify.route<{ Params: { name: string } }>({
    method: ['POST', 'PUT'],
    url: '/v1.0/bindings/:name',
    handler: async (request, reply) => {
      const { name } = request.params
      const body = parseJsonBody(request.body) as { operation?: unknown, data?: unknown, metadata?: unknown } | null
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw malformed('the body must be a JSON object')
      if (names !== undefined && !names.has(name)) {
        throw new DaprApiFailure(500, 'ERR_INVOKE_OUTPUT_BINDING', `error invoking output binding ${name}: couldn't find output binding ${name}`)
      }
      calls.push({
        name,
        operation: typeof body.operation === 'string' ? body.operation : '',
        data: body.data,
        metadata: (body.metadata ?? {}) as Record<string, string>
      })
      return reply.code(204).send()
    }
  })
}

/** Secrets (`GET /v1.0/secrets/{store}/{key}` and `/bulk`) from an in-memory map, with daprd's errors. */
export function secretRoutes (fastify: FastifyInstance, secrets: Readonly<Record<string, Readonly<Record<string, string>>>>): void {
  const stores = new Map(Object.entries(secrets))
  function storeFor (name: string): Readonly<Record<string, string>> {
    if (stores.size === 0) throw new DaprApiFailure(500, 'ERR_SECRET_STORES_NOT_CONFIGURED', 'secret store is not configured')
    const store = stores.get(name)
    if (store === undefined) throw new DaprApiFailure(401, 'ERR_SECRET_STORE_NOT_FOUND', `failed finding secret store with key ${name}`)
    return store
  }
  fastify.get<{ Params: { store: string } }>('/v1.0/secrets/:store/bulk', async (request, reply) => {
    const store = storeFor(request.params.store)
    return sendJson(reply, 200, JSON.stringify(Object.fromEntries(Object.entries(store).map(([key, value]) => [key, { [key]: value }]))))
  })
  fastify.get<{ Params: { store: string, key: string } }>('/v1.0/secrets/:store/:key', async (request, reply) => {
    const { store: name, key } = request.params
    const store = storeFor(name)
    if (!Object.hasOwn(store, key)) {
      throw new DaprApiFailure(500, 'ERR_SECRET_GET', `failed getting secret with key ${key} from secret store ${name}: secret ${key} not found`)
    }
    return sendJson(reply, 200, JSON.stringify({ [key]: store[key] }))
  })
}
