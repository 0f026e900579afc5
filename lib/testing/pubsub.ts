import { setTimeout as sleep } from 'node:timers/promises'
import type { AppResponse } from './app-channel.js'
import type { CloudEvent } from './cloudevent.js'

/** A programmatic subscription, as the app declared it in `GET /dapr/subscribe`. */
export interface Subscription {
  pubsubname: string
  topic: string
  /** The app route deliveries are POSTed to: `route`, else `routes.default`, else the first rule's path. */
  route: string
}

/** The app's answer to one delivery attempt, as daprd reads it. */
export type DeliveryAnswer = 'SUCCESS' | 'RETRY' | 'DROP'

/** One published message and what became of it. */
export interface PublishedMessage {
  pubsub: string
  topic: string
  event: CloudEvent
  /**
   * `pending` while delivery runs; `delivered` (the app said SUCCESS), `dropped` (DROP, or a 404),
   * `failed` (RETRY or errors until the attempts ran out), `no-subscriber` (the app did not subscribe).
   */
  outcome: 'pending' | 'delivered' | 'dropped' | 'failed' | 'no-subscriber'
  /** Each attempt: the app's status (0 when unreachable) and how daprd read the answer. */
  attempts: Array<{ status: number, answer: DeliveryAnswer }>
}

/** How deliveries are retried: at most `maxAttempts` POSTs per message, `delayMs` apart. */
export interface RetryPolicy {
  maxAttempts: number
  delayMs: number
}

/** Sends one request to the app (token, traceparent and recording are the caller's business). */
export type AppSender = (method: string, path: string, headers: Record<string, string | string[]>, body?: Buffer | string) => Promise<AppResponse>

/** Reads `GET /dapr/subscribe`'s answer; entries daprd could not route are skipped. */
export function parseSubscriptions (response: AppResponse): Subscription[] {
  if (response.statusCode < 200 || response.statusCode > 299) return []
  let list: unknown
  try {
    list = JSON.parse(response.body.toString('utf8'))
  } catch {
    return []
  }
  if (!Array.isArray(list)) return []
  const out: Subscription[] = []
  for (const entry of list as Array<Record<string, any> | null>) {
    const route: unknown = entry?.route ?? entry?.routes?.default ?? entry?.routes?.rules?.[0]?.path
    if (typeof entry?.pubsubname === 'string' && typeof entry.topic === 'string' && typeof route === 'string') {
      out.push({ pubsubname: entry.pubsubname, topic: entry.topic, route: route.startsWith('/') ? route : `/${route}` })
    }
  }
  return out
}

/** How daprd reads a delivery answer: 2xx + status (empty body = SUCCESS), 404 = DROP, anything else = RETRY. */
export function readAnswer (response: AppResponse | undefined): DeliveryAnswer {
  if (response === undefined) return 'RETRY'
  if (response.statusCode === 404) return 'DROP'
  if (response.statusCode < 200 || response.statusCode > 299) return 'RETRY'
  const text = response.body.toString('utf8').trim()
  if (text === '') return 'SUCCESS'
  let status: unknown
  try {
    status = (JSON.parse(text) as { status?: unknown } | null)?.status
  } catch {
    return 'RETRY'
  }
  if (status === undefined || status === '') return 'SUCCESS'
  const upper = typeof status === 'string' ? status.toUpperCase() : ''
  return upper === 'SUCCESS' || upper === 'DROP' ? upper : 'RETRY'
}

/** Delivers published messages to the app, in the background, with a bounded retry. */
export class Broker {
  readonly messages: PublishedMessage[] = []
  subscriptions: Subscription[] | undefined
  private readonly pending = new Set<Promise<void>>()
  private loading: Promise<Subscription[]> | undefined

  constructor (private readonly send: AppSender, private readonly retry: RetryPolicy) {}

  /** Asks the app for its subscriptions (daprd does so at start); kept once the app answered. */
  async loadSubscriptions (): Promise<Subscription[]> {
    // One question at a time: concurrent publishes share the answer.
    this.loading ??= this.askApp().finally(() => { this.loading = undefined })
    return await this.loading
  }

  private async askApp (): Promise<Subscription[]> {
    if (this.subscriptions !== undefined) return this.subscriptions
    let response: AppResponse
    try {
      response = await this.send('GET', '/dapr/subscribe', {})
    } catch {
      return []
    }
    this.subscriptions = parseSubscriptions(response)
    return this.subscriptions
  }

  publish (message: PublishedMessage): void {
    this.messages.push(message)
    const delivery = this.deliver(message).finally(() => this.pending.delete(delivery))
    this.pending.add(delivery)
  }

  /** Resolves once every delivery started so far (and any started meanwhile) has finished. */
  async settled (): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  private async deliver (message: PublishedMessage): Promise<void> {
    const subscriptions = await this.loadSubscriptions()
    const match = subscriptions.find(s => s.pubsubname === message.pubsub && s.topic === message.topic)
    if (match === undefined) {
      message.outcome = 'no-subscriber'
      return
    }
    const headers = { 'content-type': 'application/cloudevents+json', traceparent: message.event.traceparent }
    const body = JSON.stringify(message.event)
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      if (attempt > 1) await sleep(this.retry.delayMs)
      let response: AppResponse | undefined
      try {
        response = await this.send('POST', match.route, headers, body)
      } catch {
        response = undefined
      }
      const answer = readAnswer(response)
      message.attempts.push({ status: response?.statusCode ?? 0, answer })
      if (answer !== 'RETRY') {
        message.outcome = answer === 'SUCCESS' ? 'delivered' : 'dropped'
        return
      }
    }
    message.outcome = 'failed'
  }
}
