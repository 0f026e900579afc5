import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { OutgoingHttpHeaders } from 'node:http'
import { listen, send, type WireResponse } from './http.js'

/** One request, described once and sent both through `inject` and over a real socket. */
export interface Exchange {
  method?: string
  url: string
  headers?: Record<string, string | string[]>
}

/** What a response must be, exactly: status, every header but the connection-level ones, body. */
export interface Expected {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/** Headers that say nothing about the plugin and change per run or per transport. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

/** The response headers a test asserts in full: everything but the transport-level ones. */
export function visibleHeaders (headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!TRANSPORT_HEADERS.has(name) && value !== undefined) out[name] = String(value)
  }
  return out
}

export async function viaInject (app: FastifyInstance, exchange: Exchange): Promise<WireResponse> {
  const res = await app.inject({ method: (exchange.method ?? 'GET') as 'GET', url: exchange.url, headers: exchange.headers ?? {} })
  return { statusCode: res.statusCode, headers: res.headers as WireResponse['headers'], body: res.body }
}

export async function viaSocket (port: number, exchange: Exchange): Promise<WireResponse> {
  return await send(port, exchange.method ?? 'GET', exchange.url, (exchange.headers ?? {}) as OutgoingHttpHeaders)
}

/** Asserts one response against the exact expectation. */
export function assertResponse (t: Test, res: WireResponse, expected: Expected, label: string): void {
  t.equal(res.statusCode, expected.statusCode, `${label}: status`)
  t.same(visibleHeaders(res.headers), expected.headers, `${label}: headers`)
  t.equal(res.body, expected.body, `${label}: body`)
}

/** Sends `exchange` through `inject` and over a real socket; both must answer exactly `expected`. */
export async function expectBoth (t: Test, app: FastifyInstance, port: number, exchange: Exchange, expected: Expected): Promise<void> {
  const label = `${exchange.method ?? 'GET'} ${exchange.url}`
  assertResponse(t, await viaInject(app, exchange), expected, `${label} (inject)`)
  assertResponse(t, await viaSocket(port, exchange), expected, `${label} (socket)`)
}

/** Readies `app`, listens on 127.0.0.1:0, and closes it when the test ends. */
export async function start (t: Test, app: FastifyInstance): Promise<number> {
  t.teardown(() => app.close())
  const { port } = await listen(app)
  return port
}

/** daprd's refusal, byte for byte. */
export const DAPRD_REFUSAL: Expected = {
  statusCode: 401,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': '18' },
  body: 'invalid api token\n'
}

/** The same refusal answered to HEAD: headers as for GET, no body. */
export const DAPRD_REFUSAL_HEAD: Expected = { ...DAPRD_REFUSAL, body: '' }

/** Fastify's JSON error shape, as the `app` role answers. */
export function jsonError (statusCode: number, code: string, error: string, message: string, head = false): Expected {
  const body = JSON.stringify({ statusCode, code, error, message })
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) },
    body: head ? '' : body
  }
}

export const MISSING = jsonError(401, 'FST_DAPR_TOKEN_MISSING', 'Unauthorized', 'Missing Dapr API token')
export const INVALID = jsonError(401, 'FST_DAPR_TOKEN_INVALID', 'Unauthorized', 'Invalid Dapr API token')
export const DUPLICATE = jsonError(401, 'FST_DAPR_TOKEN_DUPLICATE', 'Unauthorized', 'More than one Dapr API token header')

/** Fastify's default 404 for `method url`. */
export function notFound (method: string, url: string): Expected {
  const body = JSON.stringify({ message: `Route ${method}:${url} not found`, error: 'Not Found', statusCode: 404 })
  return { statusCode: 404, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }, body }
}

/** A JSON 200 as Fastify serialises `value`. */
export function json (value: unknown): Expected {
  const body = JSON.stringify(value)
  return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }, body }
}

/** A plain-text 200 as Fastify sends a string. */
export function text (body: string, statusCode = 200): Expected {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }, body }
}

/** daprd's healthz answer: 204, no body. */
export const NO_CONTENT: Expected = { statusCode: 204, headers: {}, body: '' }
