import * as fs from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import { normaliseTokens } from '../compare.js'
import { DaprTokenKeySourceError, DaprTokenOptionsError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
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
   * The longest a pending change waits for quiet, in ms: steady events (a log appended beside the
   * token every 50 ms) never postpone a reload beyond this after the first of them. Default 1000.
   */
  maxWaitMs?: number
  /**
   * New content is accepted only when a second read this many ms after the first finds the same
   * bytes, so a writer pausing mid-write is not served. Keys replaced less than this long after they
   * were accepted are taken for such a fragment and get no grace. Default 200; `0` accepts at once.
   */
  settleMs?: number
  /**
   * Also re-read the file this often, in ms, as a safety net where file events are unreliable
   * (network filesystems, some container overlays). Default 30000; `0` turns it off.
   */
  pollMs?: number
  /** Default `true`: watch the file's directory for changes. `false` relies on `pollMs` alone. */
  watch?: boolean
}

type ErrnoError = Error & { code?: unknown }

const FILE_OPTION_NAMES = ['parse', 'debounceMs', 'maxWaitMs', 'settleMs', 'pollMs', 'watch', 'graceMs', 'log', 'onChange', 'fingerprint'] as const satisfies ReadonlyArray<keyof FileSourceOptions>

/** The default `parse`: one token per line; blank lines and surrounding whitespace (CR, a BOM) ignored. */
export function parseTokenLines (content: string): string[] {
  return normaliseTokens(content.split('\n'))
}

/**
 * A key source reading the tokens (or, with `parse`, any keys) in the file at `path`, re-read when
 * it changes. It watches the file's directory, not the file: the kubelet updates a mounted Secret
 * by swapping the `..data` symlink, and editors replace a file by renaming another onto it, and
 * both leave a watch on the old file blind. When the directory itself is replaced (a Secret item
 * at `dapr/token` is a link into `..data`) or removed, the watch moves to the new directory, or to
 * its nearest existing ancestor until it comes back (`state().watching` is `false` meanwhile).
 * Bursts of events are debounced (at most `maxWaitMs`), and new content must read the same twice,
 * `settleMs` apart. A read that fails, is empty, is caught mid-write or does not parse keeps the
 * last good keys, is logged and shows in `state().lastError`. Keys a change replaces stay valid
 * for `graceMs`.
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
  checkOptionNames(options, FILE_OPTION_NAMES, { source: 'fromFile' })
  const file = resolvePath(path)
  const directory = dirname(file)
  const parse = (options.parse ?? parseTokenLines) as (content: string) => readonly K[]
  if (typeof parse !== 'function') throw new DaprTokenOptionsError('`parse` must be a function (content) => keys')
  const debounceMs = checkMs('debounceMs', options.debounceMs, 100)
  const maxWaitMs = checkMs('maxWaitMs', options.maxWaitMs, 1000)
  const settleMs = checkMs('settleMs', options.settleMs, 200)
  const pollMs = checkMs('pollMs', options.pollMs, 30_000)
  if (options.watch !== undefined && typeof options.watch !== 'boolean') throw new DaprTokenOptionsError('`watch` must be true or false')
  const watch = options.watch ?? true
  const source = `file ${file}`
  const record = new KeySourceRecord<K>(source, options)

  let lastContent: Buffer | null = null
  let lastKeys: readonly K[] = []
  let acceptedAt = 0
  let watcher: fs.FSWatcher | null = null
  // What the watcher watches: the directory, or its nearest existing ancestor while it is gone.
  let watchedPath = ''
  let watchedId = ''
  let debounce: NodeJS.Timeout | null = null
  let pendingSince = 0
  let settle: NodeJS.Timeout | null = null
  let poll: NodeJS.Timeout | null = null
  let closed = false

  function failure (cause: string): InstanceType<typeof DaprTokenKeySourceError> {
    return new DaprTokenKeySourceError(source, cause)
  }

  /** The file's bytes, or `null` after recording why they cannot be read. */
  function readOrRecord (): Buffer | null {
    try {
      return readWhole(file)
    } catch (error) {
      record.failed(failure(describe(error as ErrnoError)))
      return null
    }
  }

  /** Parses `content` and serves its keys; throws the failure (the last good keys stay). */
  function accept (content: Buffer, changedAt: number): void {
    if (lastContent !== null && content.equals(lastContent)) {
      record.loaded(lastKeys)
      return
    }
    let keys: readonly K[]
    try {
      keys = parse(content.toString('utf8'))
    } catch (error) {
      // Never the parser's message: JSON.parse and friends quote the content they choke on.
      throw failure(`its content could not be parsed (${(error as Error)?.name ?? 'error'})`)
    }
    if (!Array.isArray(keys)) throw failure('`parse` did not return an array of keys')
    if (keys.length === 0) throw failure('it holds no key (empty or blank)')
    // Replaced within `settleMs` of being accepted: most likely a fragment a paused writer left.
    const fragment = changedAt - acceptedAt < settleMs
    // The first load is no change: what replaces it soon after is a rotation at startup.
    if (lastContent !== null) acceptedAt = Date.now()
    lastContent = content
    lastKeys = keys
    record.loaded(keys, fragment)
  }

  function acceptOrRecord (content: Buffer, changedAt: number): void {
    try {
      accept(content, changedAt)
    } catch (error) {
      record.failed(error as InstanceType<typeof DaprTokenKeySourceError>)
    }
  }

  /** The synchronous first load (`open()`, the first call): one read, nothing to settle against. */
  function loadNow (): void {
    let content: Buffer
    try {
      content = readWhole(file)
    } catch (error) {
      throw failure(describe(error as ErrnoError))
    }
    accept(content, Date.now())
  }

  /** A change was seen at `since`: new bytes are served once a second read `settleMs` later agrees. */
  function check (since: number): void {
    // A settle read is already on its way; it will see these bytes too.
    if (settle !== null) return
    const first = readOrRecord()
    if (first === null) return
    if (settleMs === 0 || (lastContent !== null && first.equals(lastContent))) {
      acceptOrRecord(first, since)
      return
    }
    settle = setTimeout(() => {
      settle = null
      const second = readOrRecord()
      if (second === null) return
      // Still changing: wait for the writer to finish.
      if (!second.equals(first)) schedule()
      else acceptOrRecord(second, since)
    }, settleMs).unref()
  }

  function schedule (): void {
    const now = Date.now()
    if (debounce === null) pendingSince = now
    else clearTimeout(debounce)
    const delay = Math.max(0, Math.min(debounceMs, pendingSince + maxWaitMs - now))
    debounce = setTimeout(() => {
      debounce = null
      ensureWatch()
      check(pendingSince)
    }, delay).unref()
  }

  /**
   * Watches the directory, or its nearest existing ancestor while it does not exist, and moves the
   * watch when what is there is no longer what is watched (the directory was replaced or removed:
   * a watch on a removed directory sees nothing again).
   */
  function ensureWatch (): void {
    if (!watch || closed) return
    let target = directory
    let id = identity(target)
    while (id === null) {
      const parent = dirname(target)
      /* c8 ignore next -- the filesystem root always exists */
      if (parent === target) return
      target = parent
      id = identity(target)
    }
    if (watcher !== null && target === watchedPath && id === watchedId) return
    const moved = watchedPath !== ''
    stopWatching()
    try {
      // Any entry of the directory may be the file or a link on its path (`..data`), and a read of
      // unchanged bytes costs nothing more: every event schedules a reload.
      watcher = fs.watch(target, { persistent: false }, schedule)
    } catch (error) {
      record.failed(failure(`its directory cannot be watched (${codeOf(error as ErrnoError)})`))
      return
    }
    watcher.on('error', error => {
      stopWatching()
      record.failed(failure(`its directory can no longer be watched (${codeOf(error as ErrnoError)})`))
    })
    watchedPath = target
    watchedId = id
    record.watching = target === directory
    if (target !== directory) {
      record.failed(failure(`its directory does not exist (ENOENT): watching ${target} until it is back`))
    } else if (moved) {
      // Anything written before this watch started was seen by no one.
      schedule()
    }
  }

  function stopWatching (): void {
    watcher?.close()
    watcher = null
    record.watching = false
  }

  function open (log?: KeySourceLogger): void {
    record.useLogger(log)
    if (record.lastReload === null) loadNow()
    ensureWatch()
    if (pollMs > 0 && poll === null && !closed) {
      poll = setInterval(() => {
        // Also brings a watcher back after it failed.
        ensureWatch()
        check(Date.now())
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
      if (settle !== null) clearTimeout(settle)
      if (poll !== null) clearInterval(poll)
      debounce = settle = poll = null
      record.keys.close()
    },
    state: () => record.state()
  }), record)
}

/** What is at `path` (device and inode, through links) when it is a directory; else `null`. */
function identity (path: string): string | null {
  try {
    const stats = fs.statSync(path)
    return stats.isDirectory() ? `${stats.dev}:${stats.ino}` : null
  } catch {
    return null
  }
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
