// The part of autocannon 9's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface Options {
    url: string
    connections?: number
    pipelining?: number
    duration?: number
    headers?: Record<string, string>
    method?: string
  }
  interface Histogram { average: number, p50: number, p99: number, max: number }
  interface Result {
    requests: Histogram & { total: number }
    latency: Histogram
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    '4xx': number
  }
  /** The running load: a promise of its result that also reports each response as it comes. */
  interface Instance extends PromiseLike<Result> {
    on (event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): this
  }
  function autocannon (options: autocannon.Options): autocannon.Instance
  namespace autocannon {
    export type { Instance, Options, Result }
  }
  export = autocannon
}
