import type { FastifyInstance } from 'fastify'
import { DaprApiFailure } from './api-error.js'
import type { AppResponse } from './app-channel.js'
import type { AppSender } from './pubsub.js'

const PREFIX = '/v1.0/invoke/'

/** Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1), plus the Host. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length'])

function forwardable (headers: Record<string, string | string[] | undefined>, skip: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === skip) continue
    out[name] = value
  }
  return out
}

/**
 * Registers daprd's service invocation, `/v1.0/invoke/{app-id}/method/{method}` with any HTTP method:
 * forwarded to the app with the app's own token (the caller's token never travels on), the query
 * string kept, and the app's status, headers and body passed back.
 */
export function invokeRoutes (fastify: FastifyInstance, appId: string, send: AppSender, tokenHeader: string): void {
  fastify.all<{ Params: { appId: string } }>('/v1.0/invoke/:appId/method/*', async (request, reply) => {
    const target = request.params.appId
    if (target !== appId) {
      throw new DaprApiFailure(500, 'ERR_DIRECT_INVOKE', `failed to invoke, id: ${target}, err: couldn't find service: ${target}`)
    }
    // The method path as sent (daprd keeps it unescaped: `a%2Fb` stays one segment), query included.
    const path = request.url.slice(request.url.indexOf('/method/', PREFIX.length) + '/method'.length)
    let response: AppResponse
    try {
      response = await send(request.method, path, forwardable(request.headers, tokenHeader), request.body as Buffer | undefined)
    } catch (error) {
      throw new DaprApiFailure(500, 'ERR_DIRECT_INVOKE', `failed to invoke, id: ${target}, err: ${(error as Error).message}`)
    }
    return reply.code(response.statusCode).headers(forwardable(response.headers, tokenHeader)).send(response.body)
  })
}
