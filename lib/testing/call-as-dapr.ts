import type { IncomingHttpHeaders } from 'node:http'
import { callApp, checkAppUrl, newTraceparent, type AppTarget } from './app-channel.js'
import { toCloudEvent, type CloudEvent } from './cloudevent.js'
import { parseSubscriptions, readAnswer, type DeliveryAnswer, type Subscription } from './pubsub.js'

export interface CallAsDaprOptions {
  /** The `APP_API_TOKEN` daprd would send. Default: the `APP_API_TOKEN` env var; `null` or unset sends none. */
  token?: string | null
  /** The app id daprd would put in CloudEvents' `source`. Default `'app'`. */
  appId?: string
}

/** One call, as daprd would make it. `token: null` leaves the token out of this call only. */
export interface DaprCallOptions {
  method?: string
  headers?: Record<string, string>
  /** Objects are sent as JSON, strings as text, Buffers as bytes. */
  body?: unknown
  token?: string | null
  traceparent?: string
}

/** The app's answer. */
export interface DaprCallResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  body: string
  /** The body parsed as JSON. */
  json: <T = unknown>() => T
}

/** A pub/sub delivery, as daprd makes it. */
export interface DeliverOptions {
  pubsub?: string
  topic: string
  /** The published data (wrapped in a CloudEvent), or a whole `event` to send as is. */
  data?: unknown
  event?: Partial<CloudEvent>
  /** The app route; default: the one the app declared for pubsub/topic in `GET /dapr/subscribe`. */
  route?: string
  token?: string | null
}

export interface DeliveryResponse extends DaprCallResponse {
  /** How daprd reads the answer: SUCCESS, RETRY or DROP (a 404 drops, other failures retry). */
  answer: DeliveryAnswer
  /** The CloudEvent that was sent. */
  event: CloudEvent
}

/** Calls an app the way its Dapr sidecar does. */
export interface DaprCaller {
  /** Any call to the app, with the app token (service invocation: `invoke('orders', { method: 'POST', body })`). */
  invoke: (path: string, options?: DaprCallOptions) => Promise<DaprCallResponse>
  /** A pub/sub delivery: POST of a CloudEvent (`application/cloudevents+json`) to the subscribed route. */
  deliver: (options: DeliverOptions) => Promise<DeliveryResponse>
  /** `GET /dapr/subscribe`, as daprd asks at start, parsed. */
  subscriptions: () => Promise<Subscription[]>
  /** daprd's app health probe: `GET /healthz` (or `path`) with no token at all. */
  healthProbe: (path?: string) => Promise<DaprCallResponse>
}

function encode (body: unknown): { payload: Buffer | string | undefined, contentType: string | undefined } {
  if (body === undefined) return { payload: undefined, contentType: undefined }
  if (Buffer.isBuffer(body)) return { payload: body, contentType: 'application/octet-stream' }
  if (typeof body === 'string') return { payload: body, contentType: 'text/plain' }
  return { payload: JSON.stringify(body), contentType: 'application/json' }
}

/**
 * Returns a caller that talks to `target` (a base URL, or a Fastify instance via `inject`) as daprd
 * does: the app token in `dapr-api-token`, a `traceparent` on every call, CloudEvent envelopes for
 * pub/sub deliveries, and a health probe without any token. For testing an app's auth end to end.
 */
export function callAsDapr (target: AppTarget, options: CallAsDaprOptions = {}): DaprCaller {
  const app = typeof target === 'string' ? checkAppUrl(target, 'target') : target
  const defaultToken = options.token === undefined ? process.env.APP_API_TOKEN : options.token
  const appId = options.appId ?? 'app'

  async function call (path: string, call: DaprCallOptions, contentType?: string): Promise<DaprCallResponse> {
    const { payload, contentType: inferred } = encode(call.body)
    const headers: Record<string, string> = { traceparent: call.traceparent ?? newTraceparent() }
    const type = contentType ?? inferred
    if (type !== undefined) headers['content-type'] = type
    Object.assign(headers, call.headers)
    const token = call.token === undefined ? defaultToken : call.token
    if (typeof token === 'string' && token !== '') headers['dapr-api-token'] = token
    const response = await callApp(app, { method: call.method ?? (payload === undefined ? 'GET' : 'POST'), path, headers, body: payload })
    const text = response.body.toString('utf8')
    return { statusCode: response.statusCode, headers: response.headers, body: text, json: <T>() => JSON.parse(text) as T }
  }

  async function subscriptions (): Promise<Subscription[]> {
    const response = await callApp(app, { method: 'GET', path: '/dapr/subscribe', headers: authHeaders() })
    return parseSubscriptions(response)
  }

  function authHeaders (): Record<string, string> {
    return typeof defaultToken === 'string' && defaultToken !== '' ? { 'dapr-api-token': defaultToken } : {}
  }

  return {
    invoke: async (path, callOptions = {}) => await call(path.startsWith('/') ? path : `/${path}`, callOptions),
    subscriptions,
    healthProbe: async (path = '/healthz') => await call(path, { token: null }),
    async deliver (delivery) {
      const pubsub = delivery.pubsub ?? 'pubsub'
      let route = delivery.route
      if (route === undefined) {
        const match = (await subscriptions()).find(s => s.pubsubname === pubsub && s.topic === delivery.topic)
        if (match === undefined) throw new Error(`the app did not subscribe to ${pubsub}/${delivery.topic} in GET /dapr/subscribe`)
        route = match.route
      }
      const traceparent = newTraceparent()
      const event: CloudEvent = {
        ...toCloudEvent({ pubsub, topic: delivery.topic, source: appId, traceparent, data: delivery.data }),
        ...delivery.event
      }
      const response = await call(route, {
        method: 'POST', body: event, traceparent: event.traceparent, ...(delivery.token === undefined ? {} : { token: delivery.token })
      }, 'application/cloudevents+json')
      return { ...response, answer: readAnswer({ statusCode: response.statusCode, headers: response.headers, body: Buffer.from(response.body) }), event }
    }
  }
}
