import { connect as http2Connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import daprTokenAuth, { type DaprTokenAuthOptions } from '../../lib/index.js'

/*
 * A tiny gRPC service on Fastify's HTTP/2 server, written by hand: unary `test.Greeter/Hello`
 * taking `HelloRequest { string name = 1 }` and answering `HelloReply { string message = 1 }`.
 * Messages are encoded and decoded with protobufjs, independently of the library's own writer.
 */

const root = protobuf.parse(`
syntax = "proto3";
package test;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`).root

const HelloRequest = root.lookupType('test.HelloRequest')
const HelloReply = root.lookupType('test.HelloReply')
const Status = root.lookupType('test.Status')
const ErrorInfo = root.lookupType('test.ErrorInfo')

export const HELLO_PATH = '/test.Greeter/Hello'

/** A gRPC length-prefixed message: flag 0 (uncompressed), big-endian length, bytes. */
export function frame (message: Uint8Array): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

export interface DecodedErrorInfo { reason: string, domain: string, metadata: Record<string, string> }
export interface DecodedStatus { code: number, message: string, details: Array<{ typeUrl: string, info: DecodedErrorInfo }> }

export function decodeErrorInfo (bytes: Uint8Array): DecodedErrorInfo {
  return ErrorInfo.toObject(ErrorInfo.decode(bytes), { defaults: true }) as DecodedErrorInfo
}

/** Decodes a `grpc-status-details-bin` payload (a google.rpc.Status of ErrorInfo details). */
export function decodeStatus (bytes: Uint8Array): DecodedStatus {
  const status = Status.toObject(Status.decode(bytes), { defaults: true }) as { code: number, message: string, details: Array<{ typeUrl: string, value: Uint8Array }> }
  return { code: status.code, message: status.message, details: status.details.map(d => ({ typeUrl: d.typeUrl, info: decodeErrorInfo(d.value) })) }
}

/** What the Greeter handler saw, one entry per call that reached it. */
export interface SeenCall { token: string | string[] | undefined, rawToken: boolean, credential: unknown }

/**
 * Fastify with `http2: true` (h2c), the plugin, and the Greeter. `configure` runs before the
 * routes are added (extra routes, hooks). The Greeter answers `hello <name>`.
 */
export async function greeterApp (options: DaprTokenAuthOptions, configure?: (app: FastifyInstance) => void, fastifyOptions: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, seen: SeenCall[] }> {
  const app = Fastify({ http2: true, ...fastifyOptions }) as unknown as FastifyInstance
  const seen: SeenCall[] = []
  await app.register(daprTokenAuth, options)
  app.addContentTypeParser(/^application\/grpc/, { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
  const hello = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw.rawHeaders
    seen.push({ token: request.headers['dapr-api-token'], rawToken: raw.some(name => name.toLowerCase() === 'dapr-api-token'), credential: request.daprToken })
    const body = request.body as Buffer
    const { name } = HelloRequest.toObject(HelloRequest.decode(body.subarray(5))) as { name: string }
    const message = HelloReply.encode(HelloReply.create({ message: `hello ${name}` })).finish()
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': 'application/grpc' })
    reply.raw.addTrailers({ 'grpc-status': '0', 'grpc-message': '' })
    reply.raw.end(frame(message))
  }
  configure?.(app)
  app.post(HELLO_PATH, hello)
  app.post('/test.Open/Hello', { config: { daprTokenAuth: false } }, hello)
  return { app, seen }
}

export interface UnaryResult {
  error: grpc.ServiceError | null
  message: string | undefined
}

/** One unary call with @grpc/grpc-js over h2c; `metadata` as [key, value] pairs (a key may repeat). */
export async function callHello (port: number, metadata: Array<[string, string]>, path = HELLO_PATH, name = 'dapr'): Promise<UnaryResult> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  const md = new grpc.Metadata()
  for (const [key, value] of metadata) md.add(key, value)
  try {
    return await new Promise(resolve => {
      client.makeUnaryRequest(path,
        (request: { name: string }) => Buffer.from(HelloRequest.encode(HelloRequest.create(request)).finish()),
        (bytes: Buffer) => (HelloReply.toObject(HelloReply.decode(bytes)) as { message: string }).message,
        { name }, md,
        (error, message) => resolve({ error: error ?? null, message }))
    })
  } finally {
    client.close()
  }
}

/** The status details a grpc-js error carries, decoded. */
export function statusOf (error: grpc.ServiceError): DecodedStatus {
  const [bin] = error.metadata.get('grpc-status-details-bin')
  if (!Buffer.isBuffer(bin)) throw new Error('no grpc-status-details-bin')
  return decodeStatus(bin)
}

/** A response as seen on an HTTP/2 stream: headers, whether they ended the stream, body, trailers. */
export interface H2Response {
  headers: IncomingHttpHeaders
  endStream: boolean
  body: Buffer
  trailers: IncomingHttpHeaders | undefined
}

/** One raw HTTP/2 request (h2c) with exact headers, for wire-level assertions. */
export async function h2Request (port: number, headers: OutgoingHttpHeaders, body?: Buffer): Promise<H2Response> {
  const session = http2Connect(`http://127.0.0.1:${port}`)
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject)
      const stream = session.request({ ':method': 'POST', ...headers })
      const chunks: Buffer[] = []
      let response: IncomingHttpHeaders = {}
      let endStream = false
      let trailers: IncomingHttpHeaders | undefined
      stream.on('response', (received, flags) => {
        response = received
        endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0
      })
      stream.on('trailers', received => { trailers = received })
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('error', reject)
      stream.on('close', () => resolve({ headers: response, endStream, body: Buffer.concat(chunks), trailers }))
      stream.end(body)
    })
  } finally {
    session.close()
  }
}
