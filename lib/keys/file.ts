import * as fs from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import { normaliseTokens } from '../compare.js'
import { DaprTokenKeySourceError, DaprTokenOptionsError } from '../errors.js'
import type { KeySource, KeySourceLogger, KeySourceOptions } from './source.js'
import { checkMs, KeySourceRecord, withKeysVersion } from './state.js'

export interface FileSourceOptions<K = string> extends KeySourceOptions<K> {
  /**
   * Turns the file's text into keys. Default: one token per line, surrounding whitespace and blank
   * lines ignored, CRLF fine. Give one to read other keys (a PEM or JWK file for JWT). An empty
   * result or a throw is a failed load: the last good keys stay.
   */
  parse?: (content: string) => readonly K[]
  /** Quiet time after the last change event before the file is read, in ms. Default 100. */
  debounceMs?: number
  /**
   * Also re-read the file this often, in ms, as a safety net where file events are unreliable
   * (network filesystems, some container overlays). Default 30000; `0` turns it off.
   */
  pollMs?: number
  /** Default `true`: watch the file's directory for changes. `false` relies on `pollMs` alone. */
  watch?: boolean
}

type ErrnoError = Error & { code?: unknown }

/** The default `parse`: one token per line; blank lines and surrounding whitespace (CR too) ignored. */
export function parseTokenLines (content: string): string[] {
  return normaliseTokens(content.split('\n'))
}

/**
 * A key source reading the tokens (or, with `parse`, any keys) in the file at `path`, re-read when
 * it changes. It watches the file's directory, not the file: the kubelet updates a mounted Secret
 * by swapping the `..data` symlink, and editors replace a file by renaming another onto it, and
 * both leave a watch on the old file blind. Bursts of events are debounced. A read that fails, is
 * empty, is caught mid-write or does not parse keeps the last good keys, is logged and shows in
 * `state().lastError`. Keys a change replaces stay valid for `graceMs`.
 *
 * The file is first read by `open()` (the plugin calls it at registration, so an unreadable file
 * makes `ready()` fail with `FST_DAPR_TOKEN_KEY_SOURCE`) or by the first call. Release it with
 * `close()`; the plugin does that in `onClose`.
 */
export function fromFile (path: string, options?: FileSourceOptions<string>): KeySource<string>
export function fromFile<K> (path: string, options: FileSourceOptions<K> & { parse: (content: string) => readonly K[] }): KeySource<K>
export function fromFile<K> (path: string, options: FileSourceOptions<K> = {}): KeySource<K> {
  if (typeof path !== 'string' || path === '') throw new DaprTokenOptionsError('`fromFile(path)` needs the path of a file')
  if (options === null || typeof options !== 'object') throw new DaprTokenOptionsError('`fromFile` options must be an object')
  const file = resolvePath(path)
  const directory = dirname(file)
  const parse = (options.parse ?? parseTokenLines) as (content: string) => readonly K[]
  if (typeof parse !== 'function') throw new DaprTokenOptionsError('`parse` must be a function (content) => keys')
  const debounceMs = checkMs('debounceMs', options.debounceMs, 100)
  const pollMs = checkMs('pollMs', options.pollMs, 30_000)
  if (options.watch !== undefined && typeof options.watch !== 'boolean') throw new DaprTokenOptionsError('`watch` must be true or false')
  const watch = options.watch ?? true
  const source = `file ${file}`
  const record = new KeySourceRecord<K>(source, options)

  let lastContent: Buffer | null = null
  let lastKeys: readonly K[] = []
  let watcher: fs.FSWatcher | null = null
  let debounce: NodeJS.Timeout | null = null
  let poll: NodeJS.Timeout | null = null
  let closed = false

  function failure (cause: string): InstanceType<typeof DaprTokenKeySourceError> {
    return new DaprTokenKeySourceError(source, cause)
  }

  /** Reads and parses the file; the new keys, or `null` when its bytes did not change. */
  function read (): readonly K[] | null {
    let content: Buffer
    try {
      content = readWhole(file)
    } catch (error) {
      throw failure(describe(error as ErrnoError))
    }
    if (lastContent !== null && content.equals(lastContent)) return null
    let keys: readonly K[]
    try {
      keys = parse(content.toString('utf8'))
    } catch (error) {
      // Never the parser's message: JSON.parse and friends quote the content they choke on.
      throw failure(`its content could not be parsed (${(error as Error)?.name ?? 'error'})`)
    }
    if (!Array.isArray(keys)) throw failure('`parse` did not return an array of keys')
    if (keys.length === 0) throw failure('it holds no key (empty or blank)')
    lastContent = content
    return keys
  }

  /** One load attempt; `null` on success, else the error (recorded and logged). */
  function load (): InstanceType<typeof DaprTokenKeySourceError> | null {
    try {
      const keys = read()
      if (keys !== null) lastKeys = keys
      record.loaded(lastKeys)
      return null
    } catch (error) {
      const failed = error as InstanceType<typeof DaprTokenKeySourceError>
      record.failed(failed)
      return failed
    }
  }

  function schedule (): void {
    if (debounce !== null) {
      debounce.refresh()
      return
    }
    debounce = setTimeout(() => {
      debounce = null
      load()
    }, debounceMs).unref()
  }

  function startWatching (): void {
    if (!watch || watcher !== null || closed) return
    try {
      // Any entry of the directory may be the file or a link on its path (`..data`), and a read of
      // unchanged bytes costs nothing more: every event schedules a reload.
      watcher = fs.watch(directory, { persistent: false }, schedule)
    } catch (error) {
      record.failed(failure(`its directory cannot be watched (${codeOf(error as ErrnoError)})`))
      return
    }
    watcher.on('error', error => {
      stopWatching()
      record.failed(failure(`its directory can no longer be watched (${codeOf(error as ErrnoError)})`))
    })
    record.watching = true
  }

  function stopWatching (): void {
    watcher?.close()
    watcher = null
    record.watching = false
  }

  function open (log?: KeySourceLogger): void {
    record.useLogger(log)
    if (record.lastReload === null) {
      const error = load()
      if (error !== null) throw error
    }
    startWatching()
    if (pollMs > 0 && poll === null && !closed) {
      poll = setInterval(() => {
        // Also brings a watcher back after it failed.
        startWatching()
        load()
      }, pollMs).unref()
    }
  }

  const resolve = function resolveFromFile (): readonly K[] {
    if (record.lastReload === null) open()
    return record.keys.served
  }

  return withKeysVersion(Object.assign(resolve, {
    open,
    close (): void {
      closed = true
      stopWatching()
      if (debounce !== null) clearTimeout(debounce)
      if (poll !== null) clearInterval(poll)
      debounce = poll = null
      record.keys.close()
    },
    state: () => record.state()
  }), record)
}

/** The whole file, or an error when it changed size while being read (caught mid-write). */
function readWhole (file: string): Buffer {
  const fd = fs.openSync(file, 'r')
  try {
    const { size } = fs.fstatSync(fd)
    const content = fs.readFileSync(fd)
    if (content.length !== size) throw Object.assign(new Error('file changed while being read'), { code: 'ECHANGED' })
    return content
  } finally {
    fs.closeSync(fd)
  }
}

function describe (error: ErrnoError): string {
  const code = codeOf(error)
  if (code === 'ECHANGED') return 'it changed while being read'
  if (code === 'ENOENT') return 'it does not exist (ENOENT)'
  return `it cannot be read (${code})`
}

function codeOf (error: ErrnoError): string {
  return typeof error?.code === 'string' ? error.code : 'unknown error'
}
