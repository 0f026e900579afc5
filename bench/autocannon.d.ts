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
  function autocannon (options: autocannon.Options): Promise<autocannon.Result>
  namespace autocannon {
    export type { Options, Result }
  }
  export = autocannon
}
