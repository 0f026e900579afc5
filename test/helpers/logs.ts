import { Writable } from 'node:stream'

/** A log destination that keeps every line pino writes, parsed, and the raw text too. */
export interface CapturedLogs {
  stream: Writable
  lines: string[]
  records: () => Array<Record<string, unknown>>
}

export function captureLogs (): CapturedLogs {
  const lines: string[] = []
  let pending = ''
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      pending += chunk.toString('utf8')
      let end = pending.indexOf('\n')
      while (end !== -1) {
        lines.push(pending.slice(0, end))
        pending = pending.slice(end + 1)
        end = pending.indexOf('\n')
      }
      callback()
    }
  })
  return { stream, lines, records: () => lines.map(line => JSON.parse(line) as Record<string, unknown>) }
}
