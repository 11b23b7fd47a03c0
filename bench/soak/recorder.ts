// What the soak saw: every answer (kind, when, how long, whether it was an error and why), every request that got
// no answer, and the server's resident memory once a second. Windows, per-minute rows and totals are computed from
// these afterwards; `progress` summarises the last window while the soak runs.
import { performance } from 'node:perf_hooks'
import { rssMb } from '../processes.ts'

export const KINDS = {
  'citizen-samples': { group: 'citizen', title: 'Citizen "my samples" page (GET /borger/proever)' },
  'opt-out-confirm': { group: 'opt-out', title: 'Opt-out confirmation page with its form token (GET /borger/fravalg/bekraeft)' },
  'opt-out-change': { group: 'opt-out', title: 'Opt-out change (POST /borger/fravalg, 303 to the receipt)' },
  'opt-out-repeat': { group: 'opt-out', title: 'Same form sent again (POST, same form token: the same receipt, no change)' },
  'opt-out-receipt': { group: 'opt-out', title: 'Receipt page (GET /borger/fravalg/kvittering/…)' },
  'search-first': { group: 'search', title: 'Staff search, first page (GET /medarbejder/soeg)' },
  'search-next': { group: 'search', title: 'Staff search, next page by cursor' },
  'import-upload': { group: 'import', title: 'CSV upload (POST /medarbejder/import, multipart)' },
  'import-status': { group: 'import', title: 'Import job page while it runs and when done' },
  'import-job': { group: 'import', title: 'Whole import, upload to "imported" (one per file)' },
} as const

export type Kind = keyof typeof KINDS
export type Group = (typeof KINDS)[Kind]['group']
export const GROUPS: readonly Group[] = ['citizen', 'opt-out', 'search', 'import']
export const GROUP_TITLES: Record<Group, string> = { citizen: 'citizen views', 'opt-out': 'opt-out', search: 'search', import: 'import' }
const KIND_NAMES = Object.keys(KINDS) as Kind[]

/** A growable list of numbers (seconds since the start, milliseconds) without boxing. */
class Series {
  private data = new Float64Array(1024)
  length = 0

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }

  get(i: number): number {
    return this.data[i]!
  }

  /** Index of the first value ≥ `value` (the series is sorted: times are pushed in order). */
  lowerBound(value: number): number {
    let lo = 0
    let hi = this.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.data[mid]! < value) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

interface KindLog {
  /** When each answer came (s since the start) and how long it took (ms). */
  at: Series
  ms: Series
  /** When each error happened (answers with an unexpected status or content, and requests without an answer). */
  errorAt: Series
  /** Requests without an answer (timeout, socket error, connection closed): when. */
  noAnswerAt: Series
  reasons: Map<string, number>
}

export interface Stats {
  requests: number
  errors: number
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
  maxMs: number | null
  meanMs: number | null
}

export interface KindTotals extends Stats {
  kind: Kind
  group: Group
  title: string
  noAnswer: number
  errorReasons: Record<string, number>
}

export interface WindowRow {
  fromSeconds: number
  toSeconds: number
  requests: number
  errors: number
  groups: Record<Group, Stats>
  /** Server VmRSS in the window: median and highest of the once-a-second samples (MB). */
  rssMedianMb: number | null
  rssMaxMb: number | null
}

export interface RssPoint {
  seconds: number
  mb: number
}

export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

const round1 = (n: number) => Math.round(n * 10) / 10

function stats(latencies: number[], requests: number, errors: number): Stats {
  const sorted = Float64Array.from(latencies).sort()
  const p = (q: number) => {
    const v = percentile(sorted, q)
    return v === null ? null : round1(v)
  }
  return {
    requests,
    errors,
    p50Ms: p(50),
    p90Ms: p(90),
    p99Ms: p(99),
    maxMs: sorted.length > 0 ? round1(sorted[sorted.length - 1]!) : null,
    meanMs: sorted.length > 0 ? round1(sorted.reduce((a, b) => a + b, 0) / sorted.length) : null,
  }
}

export class Recorder {
  private readonly origin = performance.now()
  private readonly logs = new Map<Kind, KindLog>(
    KIND_NAMES.map((kind) => [kind, { at: new Series(), ms: new Series(), errorAt: new Series(), noAnswerAt: new Series(), reasons: new Map() }]),
  )
  readonly rss: RssPoint[] = []
  private rssTimer: NodeJS.Timeout | undefined

  /** Seconds since the recorder was made (the start of the load). */
  now(): number {
    return (performance.now() - this.origin) / 1000
  }

  /** An answer to a request of `kind` after `ms`; `error` says why it was not the expected answer. */
  answer(kind: Kind, ms: number, error?: string): void {
    const log = this.logs.get(kind)!
    const at = this.now()
    log.at.push(at)
    log.ms.push(ms)
    if (error !== undefined) this.fail(log, at, error)
  }

  /** A request of `kind` that got no answer (timed out, socket error, connection closed under it). */
  noAnswer(kind: Kind, reason = 'no answer (timeout, socket error or closed connection)'): void {
    const log = this.logs.get(kind)!
    const at = this.now()
    log.noAnswerAt.push(at)
    this.fail(log, at, reason)
  }

  /** An error found afterwards (e.g. by the database checks), counted against `kind` at the end of the run. */
  laterError(kind: Kind, reason: string, count: number): void {
    const log = this.logs.get(kind)!
    const at = this.now()
    for (let i = 0; i < count; i++) this.fail(log, at, reason)
  }

  private fail(log: KindLog, at: number, reason: string): void {
    log.errorAt.push(at)
    log.reasons.set(reason, (log.reasons.get(reason) ?? 0) + 1)
  }

  /** Samples the VmRSS of `pid` now and then once a second. */
  startRss(pid: number): void {
    const sample = () => {
      const mb = rssMb(pid)
      if (mb !== undefined) this.rss.push({ seconds: round1(this.now()), mb: round1(mb) })
    }
    sample()
    this.rssTimer = setInterval(sample, 1000)
    this.rssTimer.unref()
  }

  stopRss(): void {
    if (this.rssTimer) clearInterval(this.rssTimer)
  }

  private kindStats(kind: Kind, from: number, to: number): { latencies: number[]; requests: number; errors: number } {
    const log = this.logs.get(kind)!
    const a = log.at.lowerBound(from)
    const b = log.at.lowerBound(to)
    const latencies: number[] = []
    for (let i = a; i < b; i++) latencies.push(log.ms.get(i))
    const noAnswers = log.noAnswerAt.lowerBound(to) - log.noAnswerAt.lowerBound(from)
    const errors = log.errorAt.lowerBound(to) - log.errorAt.lowerBound(from)
    return { latencies, requests: b - a + noAnswers, errors }
  }

  /** Figures of each group between two moments (seconds since the start). */
  window(from: number, to: number): WindowRow {
    let requests = 0
    let errors = 0
    const groups = {} as Record<Group, Stats>
    for (const group of GROUPS) {
      const latencies: number[] = []
      let groupRequests = 0
      let groupErrors = 0
      for (const kind of KIND_NAMES.filter((k) => KINDS[k].group === group)) {
        const s = this.kindStats(kind, from, to)
        groupErrors += s.errors
        // The whole import is a duration made of the requests counted already: its errors count, not its time.
        if (kind === 'import-job') continue
        latencies.push(...s.latencies)
        groupRequests += s.requests
      }
      groups[group] = stats(latencies, groupRequests, groupErrors)
      requests += groupRequests
      errors += groupErrors
    }
    const rss = this.rss.filter((r) => r.seconds >= from && r.seconds < to).map((r) => r.mb)
    const sortedRss = Float64Array.from(rss).sort()
    return {
      fromSeconds: round1(from),
      toSeconds: round1(to),
      requests,
      errors,
      groups,
      rssMedianMb: percentile(sortedRss, 50),
      rssMaxMb: sortedRss.length > 0 ? sortedRss[sortedRss.length - 1]! : null,
    }
  }

  /** Consecutive windows of `seconds` from 0 to `until` (a last piece under half a second is left out). */
  windows(seconds: number, until: number): WindowRow[] {
    const rows: WindowRow[] = []
    for (let from = 0; from < until - 0.5; from += seconds) rows.push(this.window(from, Math.min(from + seconds, until)))
    return rows
  }

  /** Totals per kind over the whole run. */
  totals(): KindTotals[] {
    return KIND_NAMES.map((kind) => {
      const log = this.logs.get(kind)!
      const s = this.kindStats(kind, -Infinity, Infinity)
      return {
        kind,
        group: KINDS[kind].group,
        title: KINDS[kind].title,
        ...stats(s.latencies, s.requests, log.errorAt.length),
        noAnswer: log.noAnswerAt.length,
        errorReasons: Object.fromEntries(log.reasons),
      }
    })
  }

  /** Errors of one kind so far. */
  errorsOf(kind: Kind): number {
    return this.logs.get(kind)!.errorAt.length
  }
}
