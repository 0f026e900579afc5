import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'

/** Where an app is: a base URL (`http://127.0.0.1:3000`) or a Fastify instance, called through `inject`. */
export type AppTarget = string | FastifyInstance

/** One request to an app. `headers` are sent as given (lower-case names). */
export interface AppRequest {
  method: string
  path: string
  headers: Record<string, string | string[]>
  body?: Buffer | string | undefined
}

/** An app's answer, as received. */
export interface AppResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/** A fresh W3C `traceparent` (version 00, sampled), as daprd adds to the calls it makes. */
export function newTraceparent (): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`
}

/** Checks an app URL once, when it is configured: only plain `http://` targets, as daprd's app channel. */
export function checkAppUrl (url: string, option: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`\`${option}\` must be an http:// URL such as 'http://127.0.0.1:3000', not ${JSON.stringify(url)}`)
  }
  if (parsed.protocol !== 'http:') throw new TypeError(`\`${option}\` must use http://, not ${parsed.protocol}`)
  return parsed.origin
}

/**
 * Sends one request to the app. A URL goes over a real socket (one connection per call, so nothing
 * is left open when servers close); a Fastify instance is called with `inject`. A connection
 * failure rejects.
 */
export async function callApp (target: AppTarget, request: AppRequest): Promise<AppResponse> {
  if (typeof target !== 'string') {
    const response = await target.inject({
      method: request.method as 'GET',
      url: request.path,
      headers: request.headers,
      ...(request.body === undefined ? {} : { payload: request.body })
    })
    return { statusCode: response.statusCode, headers: response.headers as IncomingHttpHeaders, body: response.rawPayload }
  }
  const url = new URL(request.path, target)
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: request.method, headers: request.headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ statusCode: res.statusCode as number, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end(request.body)
  })
}
