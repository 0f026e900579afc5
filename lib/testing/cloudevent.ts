import { randomUUID } from 'node:crypto'

/** The CloudEvents 1.0 envelope daprd wraps every published message in. */
export interface CloudEvent {
  id: string
  source: string
  type: string
  specversion: string
  datacontenttype: string
  topic: string
  pubsubname: string
  traceparent: string
  traceid: string
  tracestate: string
  time: string
  data?: unknown
  data_base64?: string
  [extension: string]: unknown
}

/** What to wrap: the published body and its content type, or an event that is already a CloudEvent. */
export interface EnvelopeInput {
  pubsub: string
  topic: string
  source: string
  traceparent: string
  contentType?: string | undefined
  data?: unknown
  /** The raw published bytes, when they came over HTTP. */
  raw?: Buffer | undefined
}

function isJsonType (contentType: string): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(contentType)
}

/**
 * Builds the CloudEvent daprd delivers. A body sent as `application/cloudevents+json` is used as the
 * event, with daprd's fields filled in where missing; JSON becomes `data`, text a string `data`,
 * anything else `data_base64`.
 */
export function toCloudEvent (input: EnvelopeInput): CloudEvent {
  const contentType = input.contentType ?? 'application/json'
  const base: CloudEvent = {
    id: randomUUID(),
    source: input.source,
    type: 'com.dapr.event.sent',
    specversion: '1.0',
    datacontenttype: contentType,
    topic: input.topic,
    pubsubname: input.pubsub,
    traceparent: input.traceparent,
    traceid: input.traceparent,
    tracestate: '',
    time: new Date().toISOString()
  }
  if (input.raw === undefined) return { ...base, data: input.data }
  const text = input.raw.toString('utf8')
  if (/^application\/cloudevents\+json\b/i.test(contentType)) {
    const event = parseOr(text, null)
    if (event !== null && typeof event === 'object' && !Array.isArray(event)) {
      return { ...base, datacontenttype: 'application/json', ...event, topic: input.topic, pubsubname: input.pubsub } as CloudEvent
    }
  }
  if (isJsonType(contentType)) return { ...base, data: parseOr(text, text) }
  if (/^text\//i.test(contentType)) return { ...base, data: text }
  return { ...base, data_base64: input.raw.toString('base64') }
}

function parseOr (text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return fallback
  }
}
