/** Whether a key source answered with a promise (or any thenable) rather than synchronously. */
export function isThenable<T> (value: unknown): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<T>).then === 'function'
}
