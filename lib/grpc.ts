import type { OutgoingHttpHeaders } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import type { FastifyReply, FastifyRequest } from 'fastify'

/*
 * Refusing gRPC-family calls in their own wire format. A gRPC client cannot read a 401 with a text
 * or JSON body: it reports a transport error. daprd answers a bad or missing `dapr-api-token`
 * with HTTP 200 and a trailers-only response (`grpc-status: 16`, `grpc-message: Unauthorized`)
 * whose `grpc-status-details-bin` holds a `google.rpc.Status` with one `google.rpc.ErrorInfo`
 * (reason `Unauthorized`, domain `dapr.io`, metadata `http.code: 401` and `http.error_message`
 * with the detail below). This module rebuilds that answer field for field (daprd's Go encoder
 * writes map entries in no fixed order; here they are sorted by key), and Connect's equivalent.
 * Nothing here runs unless a request is being refused.
 */

/** Which gRPC-family protocols, besides native gRPC over HTTP/2, are refused in their own format. */
export interface GrpcOptions {
  /** gRPC-Web (`application/grpc-web…`, `application/grpc-web-text…`), over HTTP/1.1 or HTTP/2. Default `false`. */
  web?: boolean
  /** The Connect protocol (`connect-protocol-version: 1`, `application/connect+…`, `GET ?connect=v1`). Default `false`. */
  connect?: boolean
}

/**
 * `true` (default): native gRPC calls (HTTP/2, `application/grpc` or `application/grpc+…`) get
 * daprd's gRPC refusal. An object adds gRPC-Web and/or Connect. `false`: every refusal is HTTP.
 */
export type GrpcOption = boolean | GrpcOptions

/** The resolved `grpc` option: which protocols are recognised on the refusal path. */
export interface GrpcDetection {
  readonly web: boolean
  readonly connect: boolean
}

/** gRPC status codes this module answers with (google.rpc.Code). */
export const GRPC_STATUS = { INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const

/** daprd's `grpc-message` on a refusal: Go's `http.StatusText(401)`. */
export const GRPC_REFUSAL_MESSAGE = 'Unauthorized'

/** daprd's detail when the `dapr-api-token` metadata is absent. */
export const GRPC_DETAIL_MISSING = 'missing api token in request metadata'

/** daprd's detail for any presented token it does not accept. */
export const GRPC_DETAIL_MISMATCH = 'authentication error: api token mismatch'

/** The `google.rpc.ErrorInfo` daprd attaches, and its `Any` type URL. */
const ERROR_INFO_TYPE = 'google.rpc.ErrorInfo'
const ERROR_INFO_DOMAIN = 'dapr.io'

/** A protocol recognised on the refusal path, with the response content type it answers with. */
export type GrpcCall =
  | { readonly protocol: 'grpc' | 'grpc-web' | 'connect-stream', readonly contentType: string }
  | { readonly protocol: 'connect', readonly contentType: 'application/json' }

/** Validates the `grpc` option; throws the sentence `fail` builds. `null`: gRPC detection off. */
export function resolveGrpcOption (value: unknown, fail: (message: string) => never): GrpcDetection | null {
  if (value === undefined || value === true) return { web: false, connect: false }
  if (value === false) return null
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('`grpc` must be true, false or an object { web?: boolean, connect?: boolean }')
  }
  const { web, connect, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) fail(`\`grpc\` has no option ${JSON.stringify(unknown[0])}: use \`web\` or \`connect\``)
  if (web !== undefined && typeof web !== 'boolean') fail('`grpc.web` must be true or false')
  if (connect !== undefined && typeof connect !== 'boolean') fail('`grpc.connect` must be true or false')
  return { web: web === true, connect: connect === true }
}

// type/subtype and an optional `+codec`, case-insensitive (media types are), parameters ignored.
const GRPC_MEDIA = /^application\/(grpc|grpc-web|grpc-web-text|connect)(?:\+([a-z0-9._-]+))?[ \t]*(?:;|$)/i

/**
 * Which gRPC-family protocol a request speaks, or `null` for a plain HTTP call. Native gRPC
 * counts only over HTTP/2, where it is defined: over HTTP/1.1 nothing changes.
 */
export function grpcCallOf (request: FastifyRequest, detection: GrpcDetection): GrpcCall | null {
  // By default only native gRPC is recognised, and only over HTTP/2: an HTTP/1.1 refusal (the
  // usual one, and every one of a flood over HTTP/1.1) is answered without reading a header.
  if (!detection.web && !detection.connect && request.raw.httpVersionMajor !== 2) return null
  const contentType = request.headers['content-type']
  const match = typeof contentType === 'string' && mayBeGrpcMedia(contentType) ? GRPC_MEDIA.exec(contentType) : null
  if (match !== null) {
    const kind = (match[1] as string).toLowerCase()
    // The codec is echoed (clients check it), rebuilt from the matched token, never copied raw.
    const codec = match[2] === undefined ? '' : `+${match[2].toLowerCase()}`
    if (kind === 'grpc') {
      return request.raw.httpVersionMajor === 2 ? { protocol: 'grpc', contentType: `application/grpc${codec}` } : null
    }
    if (kind === 'connect') {
      return detection.connect && codec !== '' ? { protocol: 'connect-stream', contentType: `application/connect${codec}` } : null
    }
    return detection.web ? { protocol: 'grpc-web', contentType: `application/${kind}${codec}` } : null
  }
  if (detection.connect && isConnectUnary(request)) return { protocol: 'connect', contentType: 'application/json' }
  return null
}

/** Every type GRPC_MEDIA matches has `g` or `c` after `application/`: most others are told apart without it. */
function mayBeGrpcMedia (contentType: string): boolean {
  const letter = contentType.charCodeAt(12) | 0x20
  return letter === 0x67 || letter === 0x63
}

function isConnectUnary (request: FastifyRequest): boolean {
  if (request.headers['connect-protocol-version'] === '1') return true
  // Connect's GET form may omit the header; its query says `connect=v1`.
  if (request.method !== 'GET') return false
  const query = request.query as Record<string, unknown> | null | undefined
  return query !== null && typeof query === 'object' && query.connect === 'v1'
}

/**
 * Percent-encodes a `grpc-message` value as the gRPC HTTP/2 spec asks: the UTF-8 bytes, with
 * every byte outside printable ASCII, and `%` itself, written as `%XX`.
 */
export function percentEncodeGrpcMessage (message: string): string {
  let out = ''
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

// Minimal protobuf writers: only what Status, Any and ErrorInfo need (varints, length-delimited).
function varint (value: number): Buffer {
  const bytes: number[] = []
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80)
    value >>>= 7
  }
  bytes.push(value)
  return Buffer.from(bytes)
}

function bytesField (field: number, value: Buffer | string): Buffer {
  const payload = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload])
}

/** `google.rpc.ErrorInfo { reason, domain, metadata }` as daprd fills it for a 401. Map entries sorted by key. */
export function encodeErrorInfo (detail: string): Buffer {
  return Buffer.concat([
    bytesField(1, GRPC_REFUSAL_MESSAGE),
    bytesField(2, ERROR_INFO_DOMAIN),
    bytesField(3, Buffer.concat([bytesField(1, 'http.code'), bytesField(2, '401')])),
    bytesField(3, Buffer.concat([bytesField(1, 'http.error_message'), bytesField(2, detail)]))
  ])
}

/** `google.rpc.Status { code, message, details: [Any(ErrorInfo)] }`, the `grpc-status-details-bin` payload. */
export function encodeRefusalStatus (detail: string): Buffer {
  const any = Buffer.concat([bytesField(1, `type.googleapis.com/${ERROR_INFO_TYPE}`), bytesField(2, encodeErrorInfo(detail))])
  return Buffer.concat([
    Buffer.from([0x08]), varint(GRPC_STATUS.UNAUTHENTICATED),
    bytesField(2, GRPC_REFUSAL_MESSAGE),
    bytesField(3, any)
  ])
}

/** Everything one refusal detail is answered with, built once per detail at registration. */
export interface GrpcRefusal {
  /** `grpc-status-details-bin`: unpadded base64, as gRPC implementations emit binary metadata. */
  readonly statusDetails: string
  /** Connect's JSON error: `{ code, message, details: [{ type, value }] }`. */
  readonly connectError: string
  /** The same, as bytes: a Buffer keeps Fastify from adding `; charset=utf-8` to Connect's `application/json`. */
  readonly connectBody: Buffer
}

export function buildGrpcRefusal (detail: string): GrpcRefusal {
  const error = {
    code: 'unauthenticated',
    message: GRPC_REFUSAL_MESSAGE,
    details: [{ type: ERROR_INFO_TYPE, value: encodeErrorInfo(detail).toString('base64').replace(/=+$/, '') }]
  }
  const connectError = JSON.stringify(error)
  return Object.freeze({
    statusDetails: encodeRefusalStatus(detail).toString('base64').replace(/=+$/, ''),
    connectError,
    connectBody: Buffer.from(connectError, 'utf8')
  })
}

// Built once: daprd has two details, so two prepared answers serve every refusal.
const MISSING = buildGrpcRefusal(GRPC_DETAIL_MISSING)
const MISMATCH = buildGrpcRefusal(GRPC_DETAIL_MISMATCH)

/**
 * The answer for a refusal reason. daprd tells an absent token from one it does not accept;
 * every reason but `missing` (wrong, duplicate, and whatever a verification mode such as JWT
 * adds to `refusalErrors`) is the latter.
 */
export function grpcRefusalFor (reason: string): GrpcRefusal {
  return reason === 'missing' ? MISSING : MISMATCH
}

/** Connect's end-of-stream envelope: flag 0x02, big-endian length, JSON `{ error }`. */
function connectEndStream (json: string): Buffer {
  const payload = Buffer.from(json, 'utf8')
  const envelope = Buffer.alloc(5 + payload.length)
  envelope[0] = 0x02
  envelope.writeUInt32BE(payload.length, 1)
  payload.copy(envelope, 5)
  return envelope
}

/**
 * Native gRPC: one HEADERS frame with END_STREAM (a trailers-only response). Node's compatibility
 * response always sends headers first and ends the stream in a separate frame, which gRPC
 * clients read as "no status" (grpc-js: INTERNAL), so the stream is answered directly.
 * gRPC-Web puts the same fields in plain response headers, which Fastify's reply can send.
 */
function sendStatusHeaders (request: FastifyRequest, reply: FastifyReply, call: GrpcCall, status: OutgoingHttpHeaders): void {
  if (call.protocol === 'grpc') {
    const stream = (request.raw as unknown as Http2ServerRequest).stream
    reply.hijack()
    // The client may have gone meanwhile (an async key resolver): nothing left to answer.
    if (stream.destroyed) return
    stream.respond({ ':status': 200, 'content-type': call.contentType, ...status }, { endStream: true })
    return
  }
  reply.code(200).header('content-type', call.contentType).headers(status).send()
}

/**
 * Answers a refused gRPC-family call: native gRPC and gRPC-Web get HTTP 200 with the status in a
 * trailers-only response (headers, no body); Connect unary gets HTTP 401 and its JSON error;
 * Connect streaming gets HTTP 200 and an end-of-stream message carrying the error.
 */
export function sendGrpcRefusal (request: FastifyRequest, reply: FastifyReply, call: GrpcCall, refusal: GrpcRefusal): void {
  if (call.protocol === 'connect') {
    reply.code(401).header('content-type', call.contentType).send(refusal.connectBody)
  } else if (call.protocol === 'connect-stream') {
    reply.code(200).header('content-type', call.contentType).send(connectEndStream(`{"error":${refusal.connectError}}`))
  } else {
    sendStatusHeaders(request, reply, call, {
      'grpc-status': String(GRPC_STATUS.UNAUTHENTICATED),
      'grpc-message': GRPC_REFUSAL_MESSAGE,
      'grpc-status-details-bin': refusal.statusDetails
    })
  }
}

/**
 * Answers a gRPC-family call whose verification could not run (the key source failed): status
 * `UNAVAILABLE` for our own 503, `INTERNAL` otherwise, with the public message only.
 */
export function sendGrpcFailure (request: FastifyRequest, reply: FastifyReply, call: GrpcCall, statusCode: number, message: string): void {
  const unavailable = statusCode === 503
  if (call.protocol === 'connect' || call.protocol === 'connect-stream') {
    const error = JSON.stringify({ code: unavailable ? 'unavailable' : 'internal', message })
    if (call.protocol === 'connect') {
      reply.code(statusCode).header('content-type', call.contentType).send(Buffer.from(error, 'utf8'))
    } else {
      reply.code(200).header('content-type', call.contentType).send(connectEndStream(`{"error":${error}}`))
    }
    return
  }
  sendStatusHeaders(request, reply, call, {
    'grpc-status': String(unavailable ? GRPC_STATUS.UNAVAILABLE : GRPC_STATUS.INTERNAL),
    'grpc-message': percentEncodeGrpcMessage(message)
  })
}

/**
 * For an error handler behind `fastify.verifyDaprToken` (which never replies itself): answers a
 * gRPC-family call that the plugin refused, or whose key source failed, exactly as the hook does,
 * and returns `true`. Returns `false` and does nothing for any other request or error, so the
 * handler goes on as usual. `grpc` is the same option as the plugin's (default `true`).
 */
export function replyDaprTokenGrpcError (request: FastifyRequest, reply: FastifyReply, error: unknown, grpc: GrpcOption = true): boolean {
  const detection = resolveGrpcOption(grpc, message => { throw new TypeError(`replyDaprTokenGrpcError: ${message}`) })
  const candidate = error as { code?: unknown, statusCode?: unknown, message?: unknown } | null
  if (detection === null || candidate === null || typeof candidate !== 'object' ||
    typeof candidate.code !== 'string' || !candidate.code.startsWith('FST_DAPR_TOKEN_') ||
    typeof candidate.statusCode !== 'number' || typeof candidate.message !== 'string') return false
  const call = grpcCallOf(request, detection)
  if (call === null) return false
  if (candidate.statusCode === 401) {
    sendGrpcRefusal(request, reply, call, grpcRefusalFor(candidate.code === 'FST_DAPR_TOKEN_MISSING' ? 'missing' : 'mismatch'))
  } else {
    sendGrpcFailure(request, reply, call, candidate.statusCode, candidate.message)
  }
  return true
}
