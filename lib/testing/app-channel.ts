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
 * The request line's target: always origin-form (`/…`), so no path can name another host. A path
 * given without its leading slash gets one; everything else travels byte for byte, as daprd sends it.
 */
function originForm (path: string): string {
  return path.startsWith('/') ? path : `/${path}`
}

/**
 * The body's framing, set from the bytes actually sent: `content-length` when there is a body
 * (Node frames GET, DELETE, OPTIONS and HEAD bodies with neither length nor chunks otherwise), and
 * no length or transfer-encoding header a caller gave, which could disagree with what is sent.
 */
function framed (headers: Record<string, string | string[]>, body: Buffer | string | undefined): { headers: Record<string, string | string[]>, body: Buffer | undefined } {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    if (lower !== 'content-length' && lower !== 'transfer-encoding') out[name] = value
  }
  const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body)
  if (bytes === undefined || bytes.length === 0) return { headers: out, body: undefined }
  out['content-length'] = String(bytes.length)
  return { headers: out, body: bytes }
}

/**
 * Sends one request to the app. A URL goes over a real socket (one connection per call, so nothing
 * is left open when servers close); a Fastify instance is called with `inject`. A connection
 * failure rejects. The connection always goes to the app's own origin: the path is only ever the
 * request line's target (a `//host/x` path reaches the app as that path, never `host`).
 */
export async function callApp (target: AppTarget, request: AppRequest): Promise<AppResponse> {
  const path = originForm(request.path)
  const { headers, body } = framed(request.headers, request.body)
  if (typeof target !== 'string') {
    const response = await target.inject({
      method: request.method as 'GET',
      url: path,
      headers,
      ...(body === undefined ? {} : { payload: body })
    })
    return { statusCode: response.statusCode, headers: response.headers as IncomingHttpHeaders, body: response.rawPayload }
  }
  // Host and port from the app's origin alone, the path given apart (options override the URL's
  // own path): never `new URL(path, target)`, where a network-path reference (`//other-host/x`)
  // replaces the host.
  return await new Promise((resolve, reject) => {
    const req = httpRequest(new URL(target), { path, method: request.method, headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ statusCode: res.statusCode as number, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}
