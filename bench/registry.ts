// The scenarios of `npm run bench`, in the order they run. Adding one is one line: its id, title and module.
// A module exports `run(ctx: BenchContext): Promise<ScenarioResult>` (bench/types.ts). An optional module that is
// not present yet is reported as skipped, not as a crash.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchContext, ScenarioResult, ScenarioRun } from './types.ts'

export interface ScenarioEntry {
  id: string
  title: string
  /** The scenario's run function; undefined (with the reason) when an optional module is absent. */
  load(): Promise<ScenarioRun | { missing: string }>
}

type Module = Record<string, unknown>

/** A module of this folder that may not exist yet; `adapt` turns a module without `run` into a ScenarioRun. */
function optional(file: string, adapt?: (module: Module) => ScenarioRun | undefined): ScenarioEntry['load'] {
  return async () => {
    const url = new URL(file, import.meta.url)
    if (!fs.existsSync(fileURLToPath(url))) return { missing: `bench/${file.replace(/^\.\//, '')} is not present` }
    const module = (await import(url.href)) as Module
    if (typeof module.run === 'function') return module.run as ScenarioRun
    const adapted = adapt?.(module)
    if (adapted) return adapted
    throw new Error(`bench/${file.replace(/^\.\//, '')} exports no run(ctx) function`)
  }
}

const builtIn = (load: () => Promise<{ run: ScenarioRun }>): ScenarioEntry['load'] => async () => (await load()).run

export const scenarios: ScenarioEntry[] = [
  // First: it stops and starts the cluster, before the shared server exists.
  { id: 'startup', title: 'Start-up to /readyz 200', load: builtIn(() => import('./scenarios/startup.ts')) },
  { id: 'citizen-samples', title: 'Citizen "my samples" page', load: builtIn(() => import('./scenarios/citizenSamples.ts')) },
  { id: 'opt-out', title: 'Opt-out change with receipt (durable)', load: builtIn(() => import('./scenarios/optOut.ts')) },
  { id: 'import', title: 'CSV import of 1,000,000 rows', load: optional('./importScenario.ts', adaptImport) },
  { id: 'search', title: 'Staff search, first and deep page', load: optional('./searchScenario.ts', adaptSearch) },
  { id: 'eligibility', title: 'Eligibility check of 1,000,000 labels', load: optional('./eligibilityScenario.ts', adaptEligibility) },
]

// --- adapters for modules written before the run(ctx) interface ---------------------------------------------------

type RunImportScenario = (
  services: BenchContext['services'],
  options: { rows?: number; biobankCode?: string; folder?: string; removeAfter?: boolean; log?: (message: string) => void },
) => Promise<{ rows: number; importSeconds: number; importRowsPerSecond: number; copySeconds: number; copyRowsPerSecond: number; ratio: number }>

/** bench/importScenario.ts: the import of a generated file against a plain COPY of it into an index-free table. */
function adaptImport(module: Module): ScenarioRun | undefined {
  if (typeof module.runImportScenario !== 'function') return undefined
  const runImport = module.runImportScenario as RunImportScenario
  return async (ctx): Promise<ScenarioResult> => {
    const rows = ctx.smoke ? 2_000 : 1_000_000
    const result = await runImport(ctx.services, { rows, folder: ctx.scratchDir, removeAfter: true, log: ctx.log })
    return {
      id: 'import',
      title: `CSV import of ${rows.toLocaleString('en')} rows`,
      metrics: [{ name: 'rows/s', value: result.importRowsPerSecond, unit: 'rows/s', better: 'higher', floor: result.copyRowsPerSecond, target: { floorShareAtLeast: 0.5 } }],
      floor: 'plain COPY of the same file into an index-free table',
      serverRssMaxMb: null,
      rssOf: 'bench process (in-process scenario)',
      details: result,
    }
  }
}

type RunEligibilityScenario = (
  services: BenchContext['services'],
  options: { labels: number; via: 'service'; repeat: number; postmasterPidFile?: string; log?: (line: string) => void },
) => Promise<{
  biobank: string
  known: number
  runs: { milliseconds: number; checkMilliseconds?: number; indexedMilliseconds?: number; checkCpuMilliseconds?: { node: number; postgres: number | null } }[]
  floorMilliseconds: number[]
  floorParallel: boolean[]
  labelIndex: { megabytes: number; bytesPerEntry: number }
}>

/** bench/eligibilityScenario.ts: a check of N labels of one biobank through the service. */
function adaptEligibility(module: Module): ScenarioRun | undefined {
  if (typeof module.runEligibilityScenario !== 'function') return undefined
  const runEligibility = module.runEligibilityScenario as RunEligibilityScenario
  return async (ctx): Promise<ScenarioResult> => {
    const labels = ctx.smoke ? 2_000 : 1_000_000
    // The cluster's postmaster.pid, so the CPU time of PostgreSQL is counted too (what the check costs, apart
    // from waiting for a core on a shared machine).
    const postmasterPidFile = path.join(ctx.config.dataDir, 'pg', 'postmaster.pid')
    const result = await runEligibility(ctx.services, { labels, via: 'service', repeat: ctx.smoke ? 1 : 3, postmasterPidFile, log: ctx.log })
    const timed = result.runs.map((r) => ({ wall: r.checkMilliseconds ?? r.milliseconds, cpu: r.checkCpuMilliseconds }))
    const best = timed.reduce((a, b) => (b.wall < a.wall ? b : a))
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    // Floor: the same list COPY'd and found among the biobank's samples in parallel, storing nothing (eligibilityFloor).
    const floor = result.floorMilliseconds.length > 0 ? Math.min(...result.floorMilliseconds) / 1000 : undefined
    const metrics: ScenarioResult['metrics'] = [{ name: 'check time (best)', value: best.wall / 1000, unit: 's', better: 'lower', floor, target: { below: 5 } }]
    if (best.cpu && best.cpu.postgres !== null) {
      metrics.push({ name: 'CPU of that check (node + PostgreSQL)', value: (best.cpu.node + best.cpu.postgres) / 1000, unit: 's', better: 'lower' })
    }
    // Best-of alone would hide how far the runs spread (6.0 to 11.6 s in one run on this machine), so every run is
    // shown, in order, with the worst.
    if (timed.length > 1) {
      const worst = timed.reduce((a, b) => (b.wall > a.wall ? b : a))
      metrics.push({ name: `check time (worst of ${timed.length})`, value: worst.wall / 1000, unit: 's', better: 'lower' })
    }
    const each = timed.map((t) => (t.cpu && t.cpu.postgres !== null ? `${seconds(t.wall)} (CPU: node ${seconds(t.cpu.node)}, PostgreSQL ${seconds(t.cpu.postgres)})` : seconds(t.wall)))
    return {
      id: 'eligibility',
      title: `Eligibility check of ${labels.toLocaleString('en')} labels`,
      metrics,
      serverRssMaxMb: null,
      rssOf: 'bench process (in-process scenario)',
      notes: [
        `biobank ${result.biobank}: ${result.known.toLocaleString('en')} of the labels name its samples; the rest count as unknown`,
        `floor: the same labels COPY'd into an unlogged work table and found among the biobank's samples (one hash join, ${
          result.floorParallel.every(Boolean) ? 'in parallel as the check decides' : 'NOT in parallel in every round'
        }), nothing stored, rolled back; best of ${result.floorMilliseconds.length}: ${result.floorMilliseconds.map(seconds).join(', ')}`,
        `the index every check scans (samples_label_per_biobank) at the start: ${result.labelIndex.megabytes.toLocaleString('en')} MB, ${result.labelIndex.bytesPerEntry} bytes per sample (see README, "Operations": appended to by every biobank at once, its pages split half full until a REINDEX)`,
        `each run, in order, the same labels again (so each stores its answer next to those of the runs before): ${each.join('; ')}`,
        `each check indexed for the citizen's log (by sample id) in the background, after its commit, in: ${result.runs
          .map((r) => (r.indexedMilliseconds === undefined ? 'n/a' : seconds(r.indexedMilliseconds)))
          .join(', ')} (the check does not wait for it; the eligible labels are read back meanwhile)`,
      ],
      details: result,
    }
  }
}

interface PageTiming {
  page: number
  rows?: number
  p50Ms?: number
  p99Ms?: number
  reached?: false
  note?: string
  scans?: string[]
}

type RunSearchScenario = (
  services: BenchContext['services'],
  options: { biobank: string; criteria: Record<string, string>; depth: number; iterations: number },
) => Promise<{
  firstPage: PageTiming
  deepPage: PageTiming
  walkMs: number
  samplesInDatabase: number
  iterations: number
  floor: { firstPage: { p50Ms: number; p99Ms: number }; deepPage?: { p50Ms: number; p99Ms: number } }
}>

/** bench/searchScenario.ts: `runSearchScenario(services, options)`, in process, each page next to its floor. */
function adaptSearch(module: Module): ScenarioRun | undefined {
  if (typeof module.runSearchScenario !== 'function') return undefined
  const runSearch = module.runSearchScenario as RunSearchScenario
  return async (ctx): Promise<ScenarioResult> => {
    const criteria = { materialType: 'plasma', collectedFrom: '2010-01-01', collectedTo: '2025-12-31' }
    const depth = ctx.smoke ? 3 : 200
    const result = await runSearch(ctx.services, { biobank: 'RH', criteria, depth, iterations: ctx.smoke ? 20 : 200 })
    const deep = result.deepPage
    const metrics: ScenarioResult['metrics'] = [
      { name: 'first page p99', value: result.firstPage.p99Ms!, unit: 'ms', better: 'lower', floor: result.floor.firstPage.p99Ms, target: { below: 100 } },
      { name: 'first page p50', value: result.firstPage.p50Ms!, unit: 'ms', better: 'lower', floor: result.floor.firstPage.p50Ms },
    ]
    if (deep.reached !== false) {
      metrics.push(
        { name: `page ${deep.page} p99`, value: deep.p99Ms!, unit: 'ms', better: 'lower', floor: result.floor.deepPage?.p99Ms, target: { below: 100 } },
        { name: `page ${deep.page} p50`, value: deep.p50Ms!, unit: 'ms', better: 'lower', floor: result.floor.deepPage?.p50Ms },
      )
    }
    return {
      id: 'search',
      title: 'Staff search, first and deep page',
      metrics,
      serverRssMaxMb: null,
      notes: [
        `registrar of RH, ${criteria.materialType}, collected ${criteria.collectedFrom} to ${criteria.collectedTo}; ${result.iterations} timed runs per page, one after the other, through searchService in the bench process`,
        `first page scans: ${(result.firstPage.scans ?? []).join(', ')}`,
        deep.reached === false ? `deep page not reached: ${deep.note}` : `page ${deep.page} (reached by following the cursor in ${result.walkMs} ms) scans: ${(deep.scans ?? []).join(', ')}`,
        'floor: the same 50 rows of each page (ids and dates) read by a plain pg client with a prepared statement over the same index, timed the same way',
      ],
      details: result as unknown as Record<string, unknown>,
    }
  }
}
