import type { FastifyReply } from 'fastify'

/** A Dapr API error as daprd answers it: a JSON body `{"errorCode": "ERR_…", "message": "…"}`. */
export interface DaprApiError {
  errorCode: string
  message: string
}

/** Thrown inside the fake sidecar's components and answered as daprd would. */
export class DaprApiFailure extends Error {
  readonly statusCode: number
  readonly errorCode: string

  constructor (statusCode: number, errorCode: string, message: string) {
    super(message)
    this.statusCode = statusCode
    this.errorCode = errorCode
  }
}

/** Answers with daprd's error shape; the message never carries a token (none reaches a component). */
export function sendDaprError (reply: FastifyReply, failure: DaprApiFailure): FastifyReply {
  const body: DaprApiError = { errorCode: failure.errorCode, message: failure.message }
  return sendJson(reply, failure.statusCode, JSON.stringify(body))
}

/** JSON with daprd's exact `content-type: application/json` (a Buffer, so Fastify adds no charset). */
export function sendJson (reply: FastifyReply, statusCode: number, json: string): FastifyReply {
  return reply.code(statusCode).header('content-type', 'application/json').send(Buffer.from(json))
}

/** daprd's answer to a body it cannot parse (400 `ERR_MALFORMED_REQUEST`). */
export function malformed (detail: string): DaprApiFailure {
  return new DaprApiFailure(400, 'ERR_MALFORMED_REQUEST', `failed deserializing HTTP body: ${detail}`)
}

/** Parses a JSON request body the way daprd does: anything unparseable is a 400 `ERR_MALFORMED_REQUEST`. */
export function parseJsonBody (body: unknown): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : ''
  try {
    return JSON.parse(text)
  } catch (error) {
    throw malformed((error as Error).message)
  }
}

/**
 * The error handler of the fake sidecar's API routes: daprd's JSON errors, never a stack. Besides
 * our own failures only Fastify's request errors arrive here (a body over the limit: 413).
 */
export function answerFailure (error: unknown, reply: FastifyReply): void {
  if (error instanceof DaprApiFailure) {
    sendDaprError(reply, error)
    return
  }
  const { statusCode, message } = error as { statusCode?: number, message: string }
  /* c8 ignore next 2 -- every handler throws DaprApiFailure; this keeps a bug from leaking internals */
  const status = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : 500
  sendDaprError(reply, status === 500 ? new DaprApiFailure(500, 'ERR_INTERNAL', 'internal error') : new DaprApiFailure(status, 'ERR_MALFORMED_REQUEST', message))
}
