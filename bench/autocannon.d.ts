// The part of autocannon 8's API the bench uses (the package ships no types).
declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    /** Called before each request; the context lives per connection until the request list wraps around. */
    setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest | undefined
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void
  }

  export interface AutocannonOptions {
    url: string
    connections?: number
    duration?: number
    amount?: number
    /** Requests per second over all connections (open loop; latency corrected for coordinated omission). */
    overallRate?: number
    timeout?: number
    pipelining?: number
    headers?: Record<string, string>
    method?: string
    requests?: AutocannonRequest[]
    initialContext?: Record<string, unknown>
    excludeErrorStats?: boolean
  }

  export interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p97_5: number
    p99: number
    p99_9: number
    [key: string]: number
  }

  export interface AutocannonResult {
    duration: number
    start: Date
    finish: Date
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    '1xx': number
    '2xx': number
    '3xx': number
    '4xx': number
    '5xx': number
    statusCodeStats: Record<string, { count: number }>
    latency: Histogram & { totalCount: number }
    requests: Histogram & { sent: number }
    throughput: Histogram
  }

  function autocannon(options: AutocannonOptions): PromiseLike<AutocannonResult> & { stop(): void }
  export default autocannon
}
