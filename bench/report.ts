// Targets evaluated, the console table, the results JSON and BENCHMARKS.md.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import type pg from 'pg'
import { projectRoot } from '../server/config.ts'
import type { DatasetInfo } from './dataset.ts'
import type { ExplainedStatement } from './explain.ts'
import type { EvaluatedMetric, Metric, RecordedScenario, Target } from './types.ts'
import { soakSectionOf } from './soak/section.ts'

export interface MachineInfo {
  cpuModel: string
  cores: number
  ramGb: number
  os: string
  node: string
  postgres: string
  postgresSettings: Record<string, string>
  loadAverageAtStart: number[]
  loadAverageAtEnd?: number[]
  gitCommit: string
}

export interface BenchRun {
  mode: 'full' | 'smoke'
  startedAt: string
  finishedAt: string
  command: string
  machine: MachineInfo
  dataset: DatasetInfo & { dataDir: string }
  settings: { connections: number; durationSeconds: number; warmupSeconds: number; nodeEnv: string; databasePoolMax: number }
  scenarios: RecordedScenario[]
  /** Peak server RSS over all scenarios (MB) and the target. */
  rss: { maxMb: number; targetMb: number; met: boolean }
  explain?: ExplainedStatement[]
  explainError?: string
}

export const RSS_TARGET_MB = 300

export async function machineInfo(pool: pg.Pool): Promise<MachineInfo> {
  const cpus = os.cpus()
  const show = async (name: string) => Object.values((await pool.query<Record<string, string>>(`show ${name}`)).rows[0]!)[0]!
  const settings: Record<string, string> = {}
  for (const name of ['shared_buffers', 'max_connections', 'synchronous_commit', 'fsync', 'wal_sync_method', 'effective_cache_size', 'work_mem']) settings[name] = await show(name)
  let gitCommit = 'unknown'
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
    gitCommit = `${head}${dirty ? ' (with uncommitted changes)' : ''}`
  } catch {
    // not a git checkout
  }
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    ramGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: await show('server_version'),
    postgresSettings: settings,
    loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
    gitCommit,
  }
}

// --- evaluation ---------------------------------------------------------------------------------------------------

export function evaluate(metric: Metric): EvaluatedMetric {
  const ratio =
    metric.floor !== undefined && metric.floor > 0 && metric.value > 0
      ? Math.round((metric.better === 'higher' ? metric.value / metric.floor : metric.floor / metric.value) * 1000) / 1000
      : undefined
  let met: boolean | undefined
  const target = metric.target
  if (target) {
    if ('below' in target) met = metric.value < target.below
    else if ('atLeast' in target) met = metric.value >= target.atLeast
    else met = ratio !== undefined && ratio >= target.floorShareAtLeast
  }
  return { ...metric, ...(ratio !== undefined ? { ratio } : {}), ...(met !== undefined ? { met } : {}) }
}

// --- formatting -----------------------------------------------------------------------------------------------------

export function formatNumber(n: number): string {
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2
  return n.toLocaleString('en', { maximumFractionDigits: digits })
}

const withUnit = (n: number, unit: string) => `${formatNumber(n)} ${unit}`

export function formatTarget(target: Target | undefined, unit: string): string {
  if (!target) return ''
  if ('below' in target) return `< ${withUnit(target.below, unit)}`
  if ('atLeast' in target) return `≥ ${withUnit(target.atLeast, unit)}`
  return `≥ ${Math.round(target.floorShareAtLeast * 100)} % of floor`
}

const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? 'met' : 'MISSED')
const percent = (ratio: number | undefined) => (ratio === undefined ? '' : `${Math.round(ratio * 1000) / 10} %`)

interface Row {
  scenario: string
  figure: string
  value: string
  floor: string
  ratio: string
  target: string
  met: string
}

function rowsOf(run: Pick<BenchRun, 'scenarios' | 'rss'>): Row[] {
  const rows: Row[] = []
  for (const s of run.scenarios) {
    if (s.error || s.skipped) {
      rows.push({ scenario: s.title, figure: s.error ? 'CRASHED' : 'skipped', value: (s.error ?? s.skipped ?? '').split('\n')[0]!.slice(0, 90), floor: '', ratio: '', target: '', met: s.error ? 'CRASHED' : '' })
      continue
    }
    s.metrics.forEach((m, i) =>
      rows.push({
        scenario: i === 0 ? s.title : '',
        figure: m.name,
        value: withUnit(m.value, m.unit),
        floor: m.floor === undefined ? '' : withUnit(m.floor, m.unit),
        ratio: percent(m.ratio),
        target: formatTarget(m.target, m.unit),
        met: verdict(m.met),
      }),
    )
    if (s.serverRssMaxMb !== null) {
      rows.push({ scenario: '', figure: s.rssOf ? `RSS max (${s.rssOf})` : 'server RSS max', value: withUnit(s.serverRssMaxMb, 'MB'), floor: '', ratio: '', target: s.rssOf ? '' : `< ${RSS_TARGET_MB} MB`, met: s.rssOf ? '' : verdict(s.serverRssMaxMb < RSS_TARGET_MB) })
    }
  }
  return rows
}

const HEADERS: Row = { scenario: 'Scenario', figure: 'Figure', value: 'Value', floor: 'Floor', ratio: 'Of floor', target: 'Target', met: 'Met' }
const COLUMNS = Object.keys(HEADERS) as (keyof Row)[]

export function consoleTable(run: Pick<BenchRun, 'scenarios' | 'rss'>): string {
  const rows = [HEADERS, ...rowsOf(run)]
  const widths = COLUMNS.map((c) => Math.max(...rows.map((r) => r[c].length)))
  const line = (r: Row) => COLUMNS.map((c, i) => r[c].padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

const cell = (text: string) => text.replace(/\|/g, '\\|')

export function markdownTable(run: Pick<BenchRun, 'scenarios' | 'rss'>): string {
  const rows = rowsOf(run)
  return [
    `| ${COLUMNS.map((c) => HEADERS[c]).join(' | ')} |`,
    `|${COLUMNS.map((c) => (c === 'value' || c === 'floor' || c === 'ratio' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${COLUMNS.map((c) => cell(r[c] === 'MISSED' || r[c] === 'CRASHED' ? `**${r[c]}**` : r[c])).join(' | ')} |`),
  ].join('\n')
}

/** The load soak's section of the report file being replaced (`npm run soak` writes it; the bench keeps it). */
function soakSectionIn(file: string | undefined): string | undefined {
  if (!file) return undefined
  try {
    return soakSectionOf(fs.readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * The whole report. `previousFile` is the report this one replaces: its load soak section (between the soak markers)
 * is carried over, as the bench does not run the soak. By default BENCHMARKS.md for a full run, none for a smoke run.
 */
export function markdown(run: BenchRun, command: string, previousFile: string | undefined = run.mode === 'full' ? path.join(projectRoot, 'BENCHMARKS.md') : undefined): string {
  const m = run.machine
  const d = run.dataset
  const lines: string[] = []
  lines.push('# Benchmarks')
  lines.push('')
  lines.push(`Written by \`${command}\` (bench/index.ts) on ${run.finishedAt}. Every figure is measured together with its floor in the same run, so the ratio holds on a noisy machine; the targets are those of issue 7 (set for 2 cores at 50,000,000 samples).`)
  lines.push('')
  lines.push('## Machine')
  lines.push('')
  lines.push(`- CPU: ${m.cpuModel}, ${m.cores} cores`)
  lines.push(`- RAM: ${m.ramGb} GB`)
  lines.push(`- OS: ${m.os}`)
  lines.push(`- Node.js ${m.node}; PostgreSQL ${m.postgres} (embedded cluster of the bench data folder)`)
  lines.push(`- PostgreSQL settings: ${Object.entries(m.postgresSettings).map(([k, v]) => `${k} = ${v}`).join(', ')}`)
  lines.push(`- Load average (1, 5, 15 min) at start: ${m.loadAverageAtStart.join(', ')}${m.loadAverageAtEnd ? `; at end: ${m.loadAverageAtEnd.join(', ')}` : ''} (a shared machine: other work ran at the same time)`)
  lines.push(`- Code: ${m.gitCommit}`)
  lines.push('')
  lines.push('## Dataset')
  lines.push('')
  lines.push(
    `${d.samples.toLocaleString('en')} samples of ${d.donors.toLocaleString('en')} donors (${d.sampleEvents.toLocaleString('en')} sample events, ${d.optOuts.toLocaleString('en')} opt-outs), made by the bulk seeder (seeders/bulk.ts, run ${d.runId}) in \`${d.dataDir}\`; ` +
      (d.reused ? `seeded ${d.seededAt} in ${d.seedSeconds.toFixed(0)} s and reused by this run.` : `seeded by this run in ${d.seedSeconds.toFixed(0)} s (with vacuum analyze).`),
  )
  lines.push('')
  lines.push(
    `Server: \`node --import tsx server/index.ts\` as a child process, NODE_ENV=${run.settings.nodeEnv}, DATABASE_POOL_MAX=${run.settings.databasePoolMax}, LOG_LEVEL=warn. ` +
      `Load: autocannon in the bench process, ${run.settings.connections} connections, ${run.settings.durationSeconds} s per measurement after ${run.settings.warmupSeconds} s warm-up.`,
  )
  lines.push('')
  lines.push('## Results')
  lines.push('')
  lines.push(markdownTable(run))
  lines.push('')
  lines.push(`"Of floor" is the figure as a share of its floor's performance (higher is better: value ÷ floor; lower is better: floor ÷ value). Server RSS is VmRSS of the server process, sampled every 200 ms during the scenario; the highest of all scenarios is ${run.rss.maxMb} MB (target < ${run.rss.targetMb} MB: ${run.rss.met ? 'met' : 'missed'}).`)
  lines.push('')
  for (const s of run.scenarios) {
    lines.push(`### ${s.title}`)
    lines.push('')
    if (s.skipped) lines.push(`Skipped: ${s.skipped}.`)
    if (s.error) lines.push('Crashed:', '', '```text', s.error, '```')
    if (s.floor) lines.push(`Floor: ${s.floor}.`, '')
    for (const note of s.notes ?? []) lines.push(`- ${note}`)
    lines.push(`- took ${s.seconds.toFixed(1)} s`)
    lines.push('')
  }
  const soak = soakSectionIn(previousFile)
  if (soak) lines.push(soak)
  if (run.explain || run.explainError) {
    lines.push(explainMarkdown(run.explain ?? [], run.explainError, d.samples))
  }
  return `${lines.join('\n').trimEnd()}\n`
}

export function explainMarkdown(statements: ExplainedStatement[], error: string | undefined, samples: number): string {
  const lines: string[] = []
  lines.push(`## Query plans (EXPLAIN (ANALYZE, BUFFERS) at ${samples.toLocaleString('en')} samples)`)
  lines.push('')
  lines.push('The statements exactly as the services sent them (captured from their query log while they ran once), each explained again inside a transaction that was rolled back; the session store\'s statements by hand.')
  lines.push('')
  if (error) lines.push(`Could not explain: ${error}`, '')
  let group = ''
  for (const s of statements) {
    if (s.group !== group) {
      group = s.group
      lines.push(`### ${group}`, '')
    }
    lines.push(`#### ${s.name}`, '', '```sql', s.sql.replace(/\s+\n/g, '\n'), '```', '', '```text', s.plan, '```', '')
  }
  return lines.join('\n')
}
