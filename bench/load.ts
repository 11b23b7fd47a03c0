// autocannon, run in the bench process, summarised to the figures the report needs.
import autocannon, { type AutocannonOptions, type AutocannonResult } from 'autocannon'

export interface LoadSummary {
  seconds: number
  requests: number
  /** Responses per second with the status the scenario counts as success. */
  okPerSecond: number
  ok: number
  /** Latency over every response (ms). */
  p50Ms: number
  p90Ms: number
  p99Ms: number
  meanMs: number
  maxMs: number
  statusCodes: Record<string, number>
  errors: number
  timeouts: number
}

export function summarise(result: AutocannonResult, okStatus: number): LoadSummary {
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]))
  const ok = statusCodes[String(okStatus)] ?? 0
  const requests = Object.values(statusCodes).reduce((a, b) => a + b, 0)
  const seconds = result.duration
  return {
    seconds,
    requests,
    ok,
    okPerSecond: seconds > 0 ? round(ok / seconds) : 0,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    meanMs: round(result.latency.mean),
    maxMs: result.latency.max,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
  }
}

const round = (n: number) => Math.round(n * 10) / 10

export async function load(options: AutocannonOptions): Promise<AutocannonResult> {
  return await autocannon({ timeout: 10, ...options })
}

/** Throws when too few responses had the expected status: the figures would measure an error page. */
export function assertMostlyOk(summary: LoadSummary, okStatus: number, what: string): void {
  if (summary.requests === 0) throw new Error(`${what}: no response at all (errors ${summary.errors}, timeouts ${summary.timeouts})`)
  const share = summary.ok / summary.requests
  if (share < 0.99) {
    throw new Error(
      `${what}: only ${(share * 100).toFixed(1)} % of ${summary.requests} responses were ${okStatus} ` +
        `(status codes ${JSON.stringify(summary.statusCodes)}, errors ${summary.errors}, timeouts ${summary.timeouts})`,
    )
  }
}
