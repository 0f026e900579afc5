import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DaprApiFailure } from './api-error.js'
import type { AppResponse } from './app-channel.js'
import type { AppSender } from './pubsub.js'

const PREFIX = '/v1.0/invoke/'
const METHOD = '/method/'

/**
 * Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1), plus the Host.
 * `content-length` is not one of them: the app channel sets it from the bytes it forwards.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host'])

/** daprd's answer when the path has no literal `/method/` after the app id (its router reads the raw path). */
const NO_APP_ID = 'failed getting app id either from the URL path or the header dapr-app-id'

function forwardable (headers: Record<string, string | string[] | undefined>, skip: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === skip) continue
    out[name] = value
  }
  return out
}

/** `/{method…}?{query}` from a raw `/v1.0/invoke/{app-id}/method/{method…}` URL; `undefined` when not literally so. */
function methodPath (url: string): string | undefined {
  if (!url.startsWith(PREFIX)) return undefined
  const afterId = url.indexOf('/', PREFIX.length)
  return url.startsWith(METHOD, afterId) ? url.slice(afterId + METHOD.length - 1) : undefined
}

/**
 * The body to forward. Fastify parses none for GET and HEAD, but daprd forwards whatever a call
 * carries, so those are read from the socket here, within the route's body limit.
 */
async function bodyOf (request: FastifyRequest): Promise<Buffer | undefined> {
  if (request.body !== undefined) return request.body as Buffer
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > request.routeOptions.bodyLimit) throw new DaprApiFailure(413, 'ERR_MALFORMED_REQUEST', 'Request body is too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/**
 * Registers daprd's service invocation, `/v1.0/invoke/{app-id}/method/{method}` with any HTTP method:
 * forwarded to the app with the app's own token (the caller's token never travels on), the query
 * string kept, and the app's status, headers and body passed back.
 */
export function invokeRoutes (fastify: FastifyInstance, appId: string, send: AppSender, tokenHeader: string): void {
  fastify.all<{ Params: { appId: string } }>('/v1.0/invoke/:appId/method/*', async (request, reply) => {
    // The method path from the raw request line, as daprd reads it: the segment after the app id
    // must be a literal `method` (`%6Dethod` decodes to it for our router, not for daprd's), and
    // the rest travels as sent (`a%2Fb` stays one segment), query included.
    const path = methodPath(request.url)
    if (path === undefined) throw new DaprApiFailure(404, 'ERR_DIRECT_INVOKE', NO_APP_ID)
    const target = request.params.appId
    if (target !== appId) {
      throw new DaprApiFailure(500, 'ERR_DIRECT_INVOKE', `failed to invoke, id: ${target}, err: couldn't find service: ${target}`)
    }
    const body = await bodyOf(request)
    let response: AppResponse
    try {
      response = await send(request.method, path, forwardable(request.headers, tokenHeader), body)
    } catch (error) {
      throw new DaprApiFailure(500, 'ERR_DIRECT_INVOKE', `failed to invoke, id: ${target}, err: ${(error as Error).message}`)
    }
    return reply.code(response.statusCode).headers(forwardable(response.headers, tokenHeader)).send(response.body)
  })
}
