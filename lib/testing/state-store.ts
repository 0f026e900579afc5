import type { FastifyInstance } from 'fastify'
import { DaprApiFailure, malformed, parseJsonBody, sendJson } from './api-error.js'

/** One stored item: its value as JSON text (what daprd's stores hold) and its ETag. */
export interface StoredItem {
  readonly value: string
  readonly etag: string
}

interface Write {
  key: string
  value?: unknown
  etag?: string | undefined
  firstWrite: boolean
}

/**
 * An in-memory state store with the ETag rules of Dapr's stores: an ETag, when given, must match
 * the stored one (409 otherwise); with `first-write` concurrency a write to an existing key needs
 * one; with `last-write` (the default) a write without an ETag always wins. ETags are version numbers.
 */
export class InMemoryStateStore {
  readonly name: string
  readonly items = new Map<string, StoredItem>()
  private version = 0

  constructor (name: string) {
    this.name = name
  }

  /** The stored value parsed back from JSON, or `undefined`. */
  value (key: string): unknown {
    const item = this.items.get(key)
    return item === undefined ? undefined : JSON.parse(item.value)
  }

  /** Checks every write first and applies them all or none. `code` names the failing operation. */
  apply (writes: readonly Write[], code: string, describe: (write: Write, detail: string) => string): void {
    for (const write of writes) {
      const current = this.items.get(write.key)
      if (write.etag !== undefined && write.etag !== '' && !/^\d+$/.test(write.etag)) {
        throw new DaprApiFailure(400, code, describe(write, `invalid etag value: ${JSON.stringify(write.etag)}`))
      }
      const hasEtag = write.etag !== undefined && write.etag !== ''
      const mismatch = hasEtag ? current?.etag !== write.etag : write.firstWrite && current !== undefined
      if (mismatch) throw new DaprApiFailure(409, code, describe(write, 'possible etag mismatch. error from state store: ETag does not match'))
    }
    for (const write of writes) {
      if (!('value' in write)) this.items.delete(write.key)
      else this.items.set(write.key, { value: JSON.stringify(write.value ?? null), etag: String(++this.version) })
    }
  }
}

interface StateObject {
  key?: unknown
  value?: unknown
  etag?: unknown
  options?: { concurrency?: unknown } | null
}

function toWrite (object: StateObject, withValue: boolean): Write {
  if (object === null || typeof object !== 'object' || typeof object.key !== 'string' || object.key === '' || object.key.includes('||')) {
    throw malformed('each state item needs a non-empty "key" without "||"')
  }
  const write: Write = {
    key: object.key,
    etag: typeof object.etag === 'string' ? object.etag : undefined,
    firstWrite: object.options?.concurrency === 'first-write'
  }
  if (withValue) write.value = object.value
  return write
}

/** Registers daprd's state API (`/v1.0/state/...`) over the given in-memory stores. */
export function stateRoutes (fastify: FastifyInstance, stores: ReadonlyMap<string, InMemoryStateStore>): void {
  function storeFor (name: string): InMemoryStateStore {
    if (stores.size === 0) throw new DaprApiFailure(500, 'ERR_STATE_STORE_NOT_CONFIGURED', 'state store is not configured')
    const store = stores.get(name)
    if (store === undefined) throw new DaprApiFailure(400, 'ERR_STATE_STORE_NOT_FOUND', `state store ${name} is not found`)
    return store
  }

  fastify.get<{ Params: { store: string, key: string } }>('/v1.0/state/:store/:key', async (request, reply) => {
    const item = storeFor(request.params.store).items.get(request.params.key)
    if (item === undefined) return reply.code(204).send()
    return sendJson(reply.header('etag', item.etag), 200, item.value)
  })

  fastify.route<{ Params: { store: string } }>({
    method: ['POST', 'PUT'],
    url: '/v1.0/state/:store',
    handler: async (request, reply) => {
      const store = storeFor(request.params.store)
      const body = parseJsonBody(request.body)
      if (!Array.isArray(body)) throw malformed('the body must be a JSON array of state items')
      const writes = body.map((object: StateObject) => toWrite(object, true))
      store.apply(writes, 'ERR_STATE_SAVE', (_write, detail) => `failed saving state in state store ${store.name}: ${detail}`)
      return reply.code(204).send()
    }
  })

  fastify.delete<{ Params: { store: string, key: string } }>('/v1.0/state/:store/:key', async (request, reply) => {
    const store = storeFor(request.params.store)
    const ifMatch = request.headers['if-match']
    const concurrency = (request.query as Record<string, unknown>).concurrency
    store.apply([{ key: request.params.key, etag: ifMatch, firstWrite: concurrency === 'first-write' }],
      'ERR_STATE_DELETE', (write, detail) => `failed deleting state with key ${write.key}: ${detail}`)
    return reply.code(204).send()
  })

  fastify.route<{ Params: { store: string } }>({
    method: ['POST', 'PUT'],
    url: '/v1.0/state/:store/bulk',
    handler: async (request, reply) => {
      const store = storeFor(request.params.store)
      const body = parseJsonBody(request.body) as { keys?: unknown } | null
      if (body === null || typeof body !== 'object' || !Array.isArray(body.keys) || !body.keys.every(k => typeof k === 'string')) {
        throw malformed('the body must be {"keys": [...]} with string keys')
      }
      const items = (body.keys as string[]).map(key => {
        const item = store.items.get(key)
        return item === undefined ? { key } : { key, data: JSON.parse(item.value), etag: item.etag }
      })
      return sendJson(reply, 200, JSON.stringify(items))
    }
  })

  fastify.route<{ Params: { store: string } }>({
    method: ['POST', 'PUT'],
    url: '/v1.0/state/:store/transaction',
    handler: async (request, reply) => {
      const store = storeFor(request.params.store)
      const body = parseJsonBody(request.body) as { operations?: unknown } | null
      if (body === null || typeof body !== 'object' || !Array.isArray(body.operations)) {
        throw malformed('the body must be {"operations": [...]}')
      }
      const writes = body.operations.map((op: { operation?: unknown, request?: StateObject }) => {
        if (op?.operation !== 'upsert' && op?.operation !== 'delete') {
          throw new DaprApiFailure(400, 'ERR_NOT_SUPPORTED_STATE_OPERATION', `operation type ${String(op?.operation)} not supported`)
        }
        return toWrite(op.request as StateObject, op.operation === 'upsert')
      })
      store.apply(writes, 'ERR_STATE_TRANSACTION', (_write, detail) => `error while executing state transaction: ${detail}`)
      return reply.code(204).send()
    }
  })
}
