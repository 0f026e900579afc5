import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** A response as it came off the socket: exact status, headers and body text. */
export interface WireResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  body: string
}

/** Starts `app` on 127.0.0.1 with an ephemeral port and returns its base URL. The caller closes it. */
export async function listen (app: FastifyInstance): Promise<{ port: number, url: string }> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return { port: address.port, url: `http://127.0.0.1:${address.port}` }
}

/**
 * One HTTP/1.1 request over a real socket. `path` goes on the request line exactly as given (no
 * normalisation); `headers` may be a flat raw array to send a header line twice.
 */
export async function send (port: number, method: string, path: string, headers: OutgoingHttpHeaders | string[] = {}, body?: string): Promise<WireResponse> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', chunk => { text += chunk })
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** Writes `raw` bytes as they are (request line and headers) and parses the single response. */
export async function sendRaw (port: number, raw: string | Buffer): Promise<WireResponse> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const head = text.slice(0, split).split('\r\n')
      const statusCode = Number((head[0] ?? '').split(' ')[1])
      const headers: IncomingHttpHeaders = {}
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({ statusCode, headers, body: text.slice(split + 4) })
    })
    socket.end(raw)
  })
}
