import type { FastifyRequest } from 'fastify'
import { DaprTokenOptionsError } from './errors.js'
import { checkOptionNames } from './option-names.js'

/** A route that needs no token, named as the router knows it: the method and the registered pattern. */
export interface ExemptRoute {
  /** One method or several; `HEAD` is not implied by `GET` (daprd exempts `GET` only). */
  method: string | readonly string[]
  /** The route pattern as registered, prefix included: `'/healthz'`, `'/v1.0/healthz'`, `'/status/:probe'`. */
  url: string
}

/** What an exemption predicate is told: the matched route (url `undefined` for no route) and the request. */
export interface ExemptRouteInfo {
  method: string
  url: string | undefined
}

export type ExemptPredicate = (route: ExemptRouteInfo, request: FastifyRequest) => boolean

/** `'GET /healthz'` strings, `{ method, url }` objects, or a predicate. `[]` exempts nothing. */
export type ExemptOption = ReadonlyArray<string | ExemptRoute> | ExemptPredicate

/** Decides, from the router's view only, whether a request may go on without a token. */
export type ExemptMatcher = (request: FastifyRequest) => boolean

export function buildExemptMatcher (exempt: ExemptOption): ExemptMatcher {
  if (typeof exempt === 'function') {
    return function isExempt (request) {
      const route = request.routeOptions
      if (route.config?.daprTokenAuth === false) return true
      return exempt({ method: request.method, url: route.url }, request) === true
    }
  }
  if (!Array.isArray(exempt)) {
    throw new DaprTokenOptionsError('`exempt` must be an array of routes or a predicate function')
  }
  // Method -> route patterns: two lookups, no string built per request.
  const allowed = new Map<string, Set<string>>()
  for (const entry of exempt) {
    const { methods, url } = parseExemptRoute(entry)
    for (const method of methods) {
      const urls = allowed.get(method) ?? new Set<string>()
      urls.add(url)
      allowed.set(method, urls)
    }
  }
  return function isExempt (request) {
    // One read: `routeOptions` builds a fresh object on every access.
    const route = request.routeOptions
    if (route.config?.daprTokenAuth === false) return true
    // No matched route (404, wrong method): never exempt, so a 401 comes before a 404 as in daprd.
    if (route.url === undefined || allowed.size === 0) return false
    // The request's method is one the matched route accepts; the pattern is the registered one,
    // so encodings, case, dot segments and trailing slashes were already settled by the router.
    return allowed.get(request.method)?.has(route.url) === true
  }
}

const METHOD = /^[A-Z][A-Z-]*$/

function parseExemptRoute (entry: string | ExemptRoute): { methods: string[], url: string } {
  let methods: readonly string[]
  let url: string
  if (typeof entry === 'string') {
    const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(entry)
    if (match === null) {
      throw new DaprTokenOptionsError(`exempt entry ${JSON.stringify(entry)} must look like 'GET /healthz'`)
    }
    methods = (match[1] as string).split(',')
    url = match[2] as string
  } else if (entry !== null && typeof entry === 'object' && typeof entry.url === 'string') {
    checkOptionNames(entry, ['method', 'url'], { prefix: 'exempt[].' })
    methods = typeof entry.method === 'string' ? [entry.method] : entry.method
    url = entry.url
  } else {
    throw new DaprTokenOptionsError('each exempt entry must be a string like \'GET /healthz\' or an object { method, url }')
  }
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every(m => typeof m === 'string' && METHOD.test(m))) {
    throw new DaprTokenOptionsError(`exempt route ${JSON.stringify(url)} needs upper-case HTTP method names, such as 'GET'`)
  }
  if (!url.startsWith('/')) {
    throw new DaprTokenOptionsError(`exempt url ${JSON.stringify(url)} must be a route pattern starting with '/'`)
  }
  return { methods: [...methods], url }
}
