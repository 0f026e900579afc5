import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { normaliseTokens } from '../compare.js'
import { DaprTokenNotConfiguredError } from '../errors.js'
import { daprTokenAuth } from '../index.js'
import { answerFailure, DaprApiFailure, sendJson } from './api-error.js'
import { callApp, checkAppUrl, newTraceparent, type AppResponse, type AppTarget } from './app-channel.js'
import { toCloudEvent } from './cloudevent.js'
import { bindingRoutes, secretRoutes, type BindingCall } from './components.js'
import { invokeRoutes } from './invoke.js'
import { Broker, type PublishedMessage, type RetryPolicy, type Subscription } from './pubsub.js'
import { redactHeaders, type CallRecord } from './recorder.js'
import { InMemoryStateStore, stateRoutes } from './state-store.js'

/** The header daprd reads and sends, in both directions. */
const TOKEN_HEADER = 'dapr-api-token'

export interface FakeSidecarOptions {
  /** The valid `DAPR_API_TOKEN`(s) callers must present. Default: the `DAPR_API_TOKEN` env var; none fails at creation. */
  token?: string | readonly string[]
  /** The app id this sidecar serves (the `{app-id}` of invocations). Default `'app'`. */
  appId?: string
  /** The app: its base URL (`http://127.0.0.1:3000`) or its Fastify instance (called with `inject`). Settable later. */
  appUrl?: AppTarget
  /** The `APP_API_TOKEN` sent on every call to the app. Default: the `APP_API_TOKEN` env var; unset sends none, as daprd. */
  appToken?: string
  /** State store names. Default `['statestore']`. */
  stateStores?: readonly string[]
  /** Pub/sub component names. Default `['pubsub']`. */
  pubsubs?: readonly string[]
  /** Output binding names. Default: any name is accepted. */
  bindings?: readonly string[]
  /** Secret stores: `{ store: { key: value } }`. Default none. */
  secrets?: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Delivery retry: default 3 attempts, 10 ms apart. */
  retry?: Partial<RetryPolicy>
  /** Options for the Fastify instance (logger, bodyLimit…). */
  fastify?: FastifyServerOptions
}

/** What the fake sidecar holds and saw, for assertions; `sidecar.dapr`. */
export interface FakeSidecarHandle {
  readonly appId: string
  /** Where calls to the app go; may be set after creation (e.g. once the app listens). */
  appUrl: AppTarget | undefined
  /** Every call in (to the API) and out (to the app), in order; token values redacted. */
  readonly calls: CallRecord[]
  /** The state stores by name. */
  readonly stores: ReadonlyMap<string, InMemoryStateStore>
  /** Every accepted publish, with its CloudEvent, delivery attempts and outcome. */
  readonly published: PublishedMessage[]
  /** Every output binding call. */
  readonly bindings: BindingCall[]
  /** How many times `POST /v1.0/shutdown` was called (the fake does not close itself). */
  readonly shutdowns: number
  /** The app's subscriptions (asks `GET /dapr/subscribe` once the app answers). */
  subscriptions (): Promise<Subscription[]>
  /** Resolves when every pub/sub delivery started so far has finished (retries included). */
  settled (): Promise<void>
  /** Replaces the valid token(s), as a daprd restarted with a new `DAPR_API_TOKEN` would. */
  setToken (token: string | readonly string[]): void
}

/** A Fastify instance answering the Dapr HTTP API like daprd; the caller listens and closes it. */
export type FakeSidecar = FastifyInstance & { readonly dapr: FakeSidecarHandle }

function tokensFrom (token: string | readonly string[] | undefined): string[] {
  const tokens = normaliseTokens(token ?? process.env.DAPR_API_TOKEN ?? '')
  if (tokens.length === 0) throw new DaprTokenNotConfiguredError('DAPR_API_TOKEN')
  return tokens
}

/**
 * Creates a fake Dapr sidecar: a Fastify instance protected by `fastify-dapr-token-auth` in the
 * `sidecar` role, answering health, metadata, shutdown, state, publish (with CloudEvent delivery to
 * the app's subscriptions), invocation (forwarded with the app token), bindings and secrets as
 * daprd does. It does not listen: call `listen({ host: '127.0.0.1', port: 0 })` or use `inject`.
 */
export function createFakeSidecar (options: FakeSidecarOptions = {}): FakeSidecar {
  let tokens = tokensFrom(options.token)
  const appId = options.appId ?? 'app'
  const appToken = options.appToken ?? process.env.APP_API_TOKEN ?? ''
  const calls: CallRecord[] = []
  let shutdowns = 0
  let appUrl: AppTarget | undefined
  const setAppUrl = (value: AppTarget | undefined): void => {
    appUrl = typeof value === 'string' ? checkAppUrl(value, 'appUrl') : value
  }
  setAppUrl(options.appUrl)

  async function toApp (method: string, path: string, headers: Record<string, string | string[]>, body?: Buffer | string): Promise<AppResponse> {
    const sent: Record<string, string | string[]> = { ...headers }
    // The app gets the app token, never what the caller presented.
    delete sent[TOKEN_HEADER]
    if (appToken !== '') sent[TOKEN_HEADER] = appToken
    sent.traceparent ??= newTraceparent()
    const record: CallRecord = { direction: 'out', method, path, status: 0, headers: redactHeaders(sent, TOKEN_HEADER) }
    calls.push(record)
    if (appUrl === undefined) throw new Error('app channel is not initialized')
    const response = await callApp(appUrl, { method, path, headers: sent, body })
    record.status = response.statusCode
    return response
  }

  const broker = new Broker(toApp, { maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 3), delayMs: options.retry?.delayMs ?? 10 })
  const stores = new Map((options.stateStores ?? ['statestore']).map(name => [name, new InMemoryStateStore(name)]))
  const pubsubs = new Set(options.pubsubs ?? ['pubsub'])
  const bindings: BindingCall[] = []
  const bindingNames = options.bindings === undefined ? undefined : new Set(options.bindings)
  const secrets = options.secrets ?? {}

  const handle: FakeSidecarHandle = {
    appId,
    get appUrl () { return appUrl },
    set appUrl (value) { setAppUrl(value) },
    calls,
    stores,
    published: broker.messages,
    bindings,
    get shutdowns () { return shutdowns },
    subscriptions: async () => await broker.loadSubscriptions(),
    settled: async () => await broker.settled(),
    setToken (token) { tokens = tokensFrom(token) }
  }

  const fastify = Fastify(options.fastify)
  fastify.decorate('dapr', handle)

  // Recorded before the auth hook runs, so a refused call shows whether it carried a token.
  const inbound = new WeakMap<FastifyRequest, CallRecord>()
  fastify.addHook('onRequest', function recordCall (request, _reply, done) {
    const record: CallRecord = { direction: 'in', method: request.method, path: request.url, status: 0, headers: redactHeaders(request.headers, TOKEN_HEADER) }
    inbound.set(request, record)
    calls.push(record)
    done()
  })
  fastify.addHook('onResponse', function recordStatus (request, reply, done) {
    (inbound.get(request) as CallRecord).status = reply.statusCode
    done()
  })

  // Same array while unchanged, so the plugin keeps its prepared key set.
  fastify.register(daprTokenAuth, { role: 'sidecar', keyResolver: () => tokens, logLevel: 'silent' })

  fastify.register(async function daprApi (api) {
    // Bodies are read raw: each handler parses what daprd parses, and answers daprd's errors.
    api.removeAllContentTypeParsers()
    api.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
    api.setErrorHandler((error, _request, reply) => { answerFailure(error, reply) })

    api.get('/v1.0/healthz', async (_request, reply) => reply.code(204).send())
    api.get('/v1.0/healthz/outbound', async (_request, reply) => reply.code(204).send())

    api.get('/v1.0/metadata', async (_request, reply) => {
      // daprd reads the app's subscriptions at start; the app may start after the fake, so each
      // metadata call asks until the app has answered once (an app that is down lists none yet).
      if (broker.subscriptions === undefined && appUrl !== undefined) await broker.loadSubscriptions()
      return sendJson(reply, 200, JSON.stringify({
        id: appId,
        runtimeVersion: 'fake',
        enabledFeatures: [],
        actorRuntime: { runtimeStatus: 'DISABLED' },
        components: [
          ...[...stores.keys()].map(name => ({ name, type: 'state.in-memory', version: 'v1', capabilities: ['ETAG', 'TRANSACTIONAL'] })),
          ...[...pubsubs].map(name => ({ name, type: 'pubsub.in-memory', version: 'v1' })),
          ...[...(bindingNames ?? [])].map(name => ({ name, type: 'bindings.fake', version: 'v1' })),
          ...Object.keys(secrets).map(name => ({ name, type: 'secretstores.in-memory', version: 'v1' }))
        ],
        subscriptions: (broker.subscriptions ?? []).map(s => ({
          pubsubname: s.pubsubname, topic: s.topic, rules: { rules: [{ match: '', path: s.route }] }, type: 'PROGRAMMATIC'
        })),
        extended: { 'fastify-dapr-token-auth': 'fake sidecar' }
      }))
    })

    api.post('/v1.0/shutdown', async (_request, reply) => {
      shutdowns++
      return reply.code(204).send()
    })

    stateRoutes(api, stores)

    api.route<{ Params: { pubsub: string, '*': string } }>({
      method: ['POST', 'PUT'],
      url: '/v1.0/publish/:pubsub/*',
      handler: async (request, reply) => {
        const { pubsub, '*': topic } = request.params
        if (!pubsubs.has(pubsub)) throw new DaprApiFailure(404, 'ERR_PUBSUB_NOT_FOUND', `pubsub ${pubsub} not found`)
        if (topic === '') throw new DaprApiFailure(404, 'ERR_TOPIC_NAME_EMPTY', `topic is empty in pubsub ${pubsub}`)
        const traceparent = request.headers.traceparent
        const event = toCloudEvent({
          pubsub,
          topic,
          source: appId,
          traceparent: typeof traceparent === 'string' ? traceparent : newTraceparent(),
          contentType: request.headers['content-type'],
          raw: (request.body as Buffer | undefined) ?? Buffer.alloc(0)
        })
        broker.publish({ pubsub, topic, event, outcome: 'pending', attempts: [] })
        return reply.code(204).send()
      }
    })

    invokeRoutes(api, appId, toApp, TOKEN_HEADER)
    bindingRoutes(api, bindingNames, bindings)
    secretRoutes(api, secrets)
  })

  fastify.addHook('onClose', async () => { await broker.settled() })
  return fastify as unknown as FakeSidecar
}
