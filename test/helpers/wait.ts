import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` up to `tries` times, `everyMs` apart, and tells whether it came true. A bounded
 * number of tries, never a duration assertion: a slow machine only makes it poll longer.
 */
export async function eventually (check: () => boolean | Promise<boolean>, tries = 100, everyMs = 20): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true
    await sleep(everyMs)
  }
  return false
}

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dapr-token-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface LogLine { level: 'info' | 'error', details: object, message: string }

/** A logger that keeps its lines, for asserting what a key source logs (and that no key is in it). */
export function recordingLogger (): { lines: LogLine[], info: (details: object, message: string) => void, error: (details: object, message: string) => void } {
  const lines: LogLine[] = []
  return {
    lines,
    info: (details, message) => { lines.push({ level: 'info', details, message }) },
    error: (details, message) => { lines.push({ level: 'error', details, message }) }
  }
}
