// The soak's results: the JSON (everything), the "## Load soak" section of BENCHMARKS.md (between the soak markers)
// and a short summary for the console.
import type { DatasetInfo } from '../dataset.ts'
import { formatNumber, type MachineInfo } from '../report.ts'
import { GROUP_TITLES, GROUPS, type KindTotals, type RssPoint, type WindowRow } from './recorder.ts'
import { SOAK_END, SOAK_START } from './section.ts'
import type { ImportCheck, OptOutCheck } from './verify.ts'

/** Memory growth is the median RSS of the last third of the load against that of the middle third. */
export const MEMORY_GROWTH_LIMIT_PERCENT = 10

export interface MemoryCheck {
  samples: number
  startMb: number | null
  minMb: number | null
  maxMb: number | null
  endMb: number | null
  middleThirdMedianMb: number | null
  lastThirdMedianMb: number | null
  growthPercent: number | null
  growth: boolean
}

export interface SoakRun {
  mode: 'full' | 'smoke'
  startedAt: string
  finishedAt: string
  command: string
  machine: MachineInfo
  dataset: DatasetInfo & { dataDir: string }
  settings: {
    durationSeconds: number
    /** Seconds the load actually ran (to the start of the drain). */
    loadSeconds: number
    intervalSeconds: number
    connections: number
    split: { citizenViews: number; optOut: number; search: number; imports: number }
    timeoutSeconds: number
    nodeEnv: 'development'
    databasePoolMax: number
    citizensViewing: number
    citizensOptingOut: number
    staffSearching: string[]
    staffImporting: string
    importEverySeconds: number
    importRows: number
    importBiobank: string
    repeatShare: number
    maxExtraSearchPages: number
  }
  kinds: KindTotals[]
  totals: { requests: number; errors: number; requestsPerSecond: number }
  /** Per interval (the JSON) and per minute (the report's table). */
  windows: WindowRow[]
  minutes: WindowRow[]
  rss: RssPoint[]
  memory: MemoryCheck
  optOuts: OptOutCheck & { repeatsSameReceipt: number; changesWithoutAnswer: number }
  imports: ImportCheck & { importSeconds: { p50: number | null; p99: number | null } }
  /** autocannon's own counts per flow (a cross-check of the soak's: errors are timeouts and socket errors). */
  autocannon: Record<string, { requests: number; errors: number; timeouts: number; statusCodes: Record<string, number> }>
  server: { errorLogLines: number; exitedEarly: string | null; lastErrorLines: string[] }
  verdict: { errors: number; lostOptOuts: number; memoryGrowth: boolean; importRowsMissing: number; passed: boolean }
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round(((sorted[mid - 1]! + sorted[mid]!) / 2) * 10) / 10
}

/** Middle third against last third of the samples taken while the load ran (the first third is the warm-up). */
export function memoryCheck(rss: RssPoint[], loadSeconds: number): MemoryCheck {
  const during = rss.filter((r) => r.seconds <= loadSeconds)
  const third = loadSeconds / 3
  const middle = median(during.filter((r) => r.seconds >= third && r.seconds < 2 * third).map((r) => r.mb))
  const last = median(during.filter((r) => r.seconds >= 2 * third).map((r) => r.mb))
  const growthPercent = middle !== null && last !== null && middle > 0 ? Math.round(((last - middle) / middle) * 1000) / 10 : null
  const mbs = during.map((r) => r.mb)
  return {
    samples: during.length,
    startMb: during[0]?.mb ?? null,
    minMb: mbs.length > 0 ? Math.min(...mbs) : null,
    maxMb: mbs.length > 0 ? Math.max(...mbs) : null,
    endMb: during.at(-1)?.mb ?? null,
    middleThirdMedianMb: middle,
    lastThirdMedianMb: last,
    growthPercent,
    growth: growthPercent !== null && growthPercent > MEMORY_GROWTH_LIMIT_PERCENT,
  }
}

const n = (value: number) => value.toLocaleString('en')
const ms = (value: number | null) => (value === null ? '–' : `${formatNumber(value)} ms`)
const mb = (value: number | null) => (value === null ? '–' : `${formatNumber(value)} MB`)
const met = (ok: boolean) => (ok ? 'met' : '**MISSED**')
const cell = (text: string) => text.replace(/\|/g, '\\|')

function clock(seconds: number): string {
  const s = Math.round(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/** The "## Load soak" section, markers included. */
export function soakMarkdown(run: SoakRun): string {
  const s = run.settings
  const m = run.machine
  const d = run.dataset
  const v = run.verdict
  const o = run.optOuts
  const i = run.imports
  const lines: string[] = []
  lines.push(SOAK_START)
  lines.push('## Load soak')
  lines.push('')
  lines.push(
    `Written by \`${run.command}\` (bench/soak.ts) on ${run.finishedAt}${run.mode === 'smoke' ? ' (smoke run: a tiny dataset for seconds; the figures mean nothing)' : ''}. ` +
      'Targets (issue 8): zero errors, no memory growth, every opt-out change present afterwards. `npm run bench` keeps this section.',
  )
  lines.push('')
  lines.push(
    `**Verdict: ${v.passed ? 'passed' : 'FAILED'}** (${n(v.errors)} errors, ${n(v.lostOptOuts)} lost opt-outs; the soak exits non-zero on either)` +
      `${v.memoryGrowth ? '; **the server\'s memory grew**' : '; no memory growth'}.`,
  )
  lines.push('')
  lines.push('| Target | Result | Met |')
  lines.push('|---|---|---|')
  lines.push(`| zero errors | ${n(v.errors)} errors in ${n(run.totals.requests)} requests | ${met(v.errors === 0)} |`)
  lines.push(
    `| no memory growth (median server RSS of the last third of the load ≤ ${MEMORY_GROWTH_LIMIT_PERCENT} % above the middle third's) | ` +
      `${mb(run.memory.middleThirdMedianMb)} → ${mb(run.memory.lastThirdMedianMb)} (${run.memory.growthPercent === null ? 'not measured' : `${run.memory.growthPercent > 0 ? '+' : ''}${run.memory.growthPercent} %`}) | ${met(!v.memoryGrowth)} |`,
  )
  lines.push(`| every opt-out change present afterwards | ${n(o.receiptsSeen)} receipts seen, ${n(o.stored)} stored, ${n(o.audited)} audited; ${n(v.lostOptOuts)} lost | ${met(v.lostOptOuts === 0)} |`)
  lines.push(`| every imported row present | ${n(i.rowsExpected)} rows expected (${n(i.imported)} files), ${n(i.rowsStored)} stored | ${met(v.importRowsMissing === 0)} |`)
  lines.push('')

  lines.push('### Set-up')
  lines.push('')
  lines.push(`- Machine: ${m.cpuModel}, ${m.cores} cores, ${m.ramGb} GB RAM; ${m.os}; Node.js ${m.node}; PostgreSQL ${m.postgres} (${Object.entries(m.postgresSettings).map(([k, val]) => `${k} = ${val}`).join(', ')})`)
  lines.push(`- Load average (1, 5, 15 min) at start: ${m.loadAverageAtStart.join(', ')}${m.loadAverageAtEnd ? `; at end: ${m.loadAverageAtEnd.join(', ')}` : ''} (a shared machine: other work ran at the same time); code: ${m.gitCommit}`)
  lines.push(
    `- Dataset: ${n(d.samples)} samples of ${n(d.donors)} donors made by the bulk seeder in \`${d.dataDir}\` (${d.reused ? `seeded ${d.seededAt}, reused` : `seeded by this run in ${d.seedSeconds.toFixed(0)} s`}); the soak adds its imported samples and opt-out changes to it`,
  )
  lines.push(`- Server: \`node --import tsx server/index.ts\` as a child process, NODE_ENV=${s.nodeEnv}, DATABASE_POOL_MAX=${s.databasePoolMax}, LOG_LEVEL=warn; memory is its VmRSS, sampled once a second`)
  lines.push(
    `- Load: ${n(s.connections)} connections for ${n(s.durationSeconds)} s (${n(Math.round(run.totals.requestsPerSecond * 10) / 10)} requests/s on average): ` +
      `${s.split.citizenViews} citizen views, ${s.split.optOut} opt-out, ${s.split.search} search (autocannon, keep-alive, each connection waits for its answer), ` +
      `${s.split.imports} import (a ${n(s.importRows)}-row CSV uploaded every ${s.importEverySeconds} s by a staff user through the web form, then its job page followed until imported); ` +
      `a request without an answer in ${s.timeoutSeconds} s is an error`,
  )
  lines.push(
    `- Who: ${n(s.citizensViewing)} signed-in citizens (random per view), ${n(s.citizensOptingOut)} other citizens changing opt-outs (one connection holds a citizen from the confirmation page to the receipt; each change flips one choice with the form token of its confirmation page; ${Math.round(s.repeatShare * 100)} % of the forms are sent twice); ` +
      `staff ${s.staffSearching.join(', ')} searching (material type and collection period, then up to ${s.maxExtraSearchPages} next pages), ${s.staffImporting} importing into ${s.importBiobank}; staff signed in through the development OpenID provider, citizen sessions written into the session table`,
  )
  lines.push('')

  lines.push('### Requests by kind')
  lines.push('')
  lines.push('| Kind | Requests | Errors | p50 | p99 | max |')
  lines.push('|---|---:|---:|---:|---:|---:|')
  for (const k of run.kinds) {
    if (k.requests === 0 && k.errors === 0) continue
    lines.push(`| ${cell(k.title)} | ${n(k.requests)} | ${k.errors > 0 ? `**${n(k.errors)}**` : '0'} | ${ms(k.p50Ms)} | ${ms(k.p99Ms)} | ${ms(k.maxMs)} |`)
  }
  lines.push(`| **all requests** | ${n(run.totals.requests)} | ${v.errors > 0 ? `**${n(v.errors)}**` : '0'} |  |  |  |`)
  lines.push('')
  const reasons = run.kinds.flatMap((k) => Object.entries(k.errorReasons).map(([reason, count]) => `- ${k.kind}: ${reason} (${n(count)})`))
  if (reasons.length > 0) lines.push('Errors by reason:', '', ...reasons, '')

  lines.push('### Over time')
  lines.push('')
  const bucket = run.minutes.length > 0 ? run.minutes[0]!.toSeconds - run.minutes[0]!.fromSeconds : 60
  lines.push(`Per ${bucket >= 60 ? 'minute' : `${bucket} s`} of the load: requests, errors, p99 latency per part of the mix, and the server's resident memory.`)
  lines.push('')
  lines.push(`| From | Requests | Errors | ${GROUPS.map((g) => `p99 ${GROUP_TITLES[g]}`).join(' | ')} | RSS median | RSS max |`)
  lines.push(`|---|---:|---:|${GROUPS.map(() => '---:').join('|')}|---:|---:|`)
  for (const w of run.minutes) {
    lines.push(`| ${clock(w.fromSeconds)} | ${n(w.requests)} | ${w.errors > 0 ? `**${n(w.errors)}**` : '0'} | ${GROUPS.map((g) => ms(w.groups[g].p99Ms)).join(' | ')} | ${mb(w.rssMedianMb)} | ${mb(w.rssMaxMb)} |`)
  }
  lines.push('')
  const mem = run.memory
  lines.push(
    `Server RSS: ${mb(mem.startMb)} when the load began, lowest ${mb(mem.minMb)}, highest ${mb(mem.maxMb)}, ${mb(mem.endMb)} at the end of the load (${n(mem.samples)} samples); ` +
      `median of the middle third ${mb(mem.middleThirdMedianMb)}, of the last third ${mb(mem.lastThirdMedianMb)}: ${mem.growth ? '**memory growth**' : 'no memory growth'} (limit +${MEMORY_GROWTH_LIMIT_PERCENT} %). The JSON has the once-a-second series and ${s.intervalSeconds}-second windows.`,
  )
  lines.push('')

  lines.push('### Opt-outs: every receipt counted')
  lines.push('')
  lines.push('| | Count |')
  lines.push('|---|---:|')
  lines.push(`| receipts the client saw (303 to a receipt) | ${n(o.receiptsSeen)} |`)
  lines.push(`| … stored: opt_out_events row with that reference, donor, choice and value | ${n(o.stored)} |`)
  lines.push(`| … with their \`optout.change\` audit event | ${n(o.audited)} |`)
  lines.push(`| opt_out_events rows added for the soak's citizens (${n(o.rowsAddedAll)} in all) | ${n(o.rowsAdded)} |`)
  lines.push(`| rows without a receipt seen (change requests without an answer: ${n(o.changesWithoutAnswer)}) | ${n(o.rowsWithoutReceipt)} |`)
  lines.push(`| forms sent twice, answered with their first receipt | ${n(o.repeatsSameReceipt)} |`)
  lines.push(`| citizens whose choices in force are those of their last receipt | ${n(o.citizensChecked - o.finalStateMismatches)} of ${n(o.citizensChecked)}${o.citizensRetired > 0 ? ` (${n(o.citizensRetired)} left out after an unclear answer)` : ''} |`)
  lines.push(`| **lost** (receipt without row or audit event, choice not in force, reference given twice) | ${o.lost > 0 ? `**${n(o.lost)}**` : '0'} |`)
  lines.push('')
  if (o.examples.length > 0) lines.push('Examples:', '', ...o.examples.map((e) => `- ${e}`), '')

  lines.push('### Imports')
  lines.push('')
  lines.push(
    `${n(i.files)} files uploaded, ${n(i.imported)} imported, ${n(i.failed)} not; rows expected ${n(i.rowsExpected)}, stored ${n(i.rowsStored)}` +
      `${i.missingRows !== 0 ? ` (**${n(i.missingRows)} missing**)` : ''}; rows of files not imported found: ${n(i.rowsOfFailedFiles)}. ` +
      `Upload to "imported": p50 ${ms(i.importSeconds.p50 === null ? null : i.importSeconds.p50 * 1000)}, p99 ${ms(i.importSeconds.p99 === null ? null : i.importSeconds.p99 * 1000)}.`,
  )
  lines.push('')
  lines.push(
    `Server: ${n(run.server.errorLogLines)} log lines at level error or worse${run.server.exitedEarly ? `; **the server ended during the soak: ${run.server.exitedEarly}**` : ''}. ` +
      `autocannon's own count of timeouts and socket errors: ${Object.entries(run.autocannon).map(([name, a]) => `${name} ${n(a.errors)}`).join(', ')}.`,
  )
  lines.push(SOAK_END)
  return `${lines.join('\n')}\n`
}

/** A few lines for the console. */
export function soakSummary(run: SoakRun): string {
  const rows = [['Kind', 'Requests', 'Errors', 'p50', 'p99'], ...run.kinds.filter((k) => k.requests > 0 || k.errors > 0).map((k) => [k.kind, n(k.requests), n(k.errors), ms(k.p50Ms), ms(k.p99Ms)])]
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const table = rows.map((r) => r.map((text, c) => (c === 0 ? text.padEnd(widths[c]!) : text.padStart(widths[c]!))).join('  ')).join('\n')
  const v = run.verdict
  return [
    table,
    '',
    `errors: ${n(v.errors)} of ${n(run.totals.requests)} requests`,
    `opt-outs: ${n(run.optOuts.receiptsSeen)} receipts seen, ${n(run.optOuts.stored)} stored, ${n(run.optOuts.audited)} audited, lost ${n(v.lostOptOuts)}`,
    `imports: ${n(run.imports.imported)} of ${n(run.imports.files)} files, rows expected ${n(run.imports.rowsExpected)}, stored ${n(run.imports.rowsStored)}`,
    `server RSS: middle third ${mb(run.memory.middleThirdMedianMb)}, last third ${mb(run.memory.lastThirdMedianMb)} (${run.memory.growthPercent ?? '–'} %): ${run.memory.growth ? 'MEMORY GROWTH' : 'no growth'}`,
    `verdict: ${v.passed ? 'passed' : 'FAILED'}`,
  ].join('\n')
}
