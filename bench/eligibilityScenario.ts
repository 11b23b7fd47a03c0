// Issue 6: an eligibility check of 1,000,000 labels against 10,000,000 samples in under 5 s on the 2-core machine.
//
// Run against a bulk-seeded development database (the dev server's embedded cluster, or DATABASE_URL):
//   npx tsx server/cli/seedBulk.ts --samples 1000000
//   npx tsx bench/eligibilityScenario.ts [--labels 1000000] [--biobank RH] [--via service|api|both] [--repeat 1]
//
// The labels are the newest samples of the biobank with the most samples, topped up (when it has fewer than asked
// for) with other biobanks' labels, which the check counts as unknown, as a real list with typing errors would.
// `service` times services.eligibility.checkLabels (COPY into the check's work table, the one deciding statement,
// the stored chunks, the audit event) and then reads the eligible labels back as the API streams them;
// `api` times POST /api/v1/eligibility end to end over loopback HTTP, JSON streamed both ways, with a fresh key.
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { QueryTypes } from 'sequelize'
import { from as copyFrom } from 'pg-copy-streams'
import { allowLongQueries } from '../server/db/boundedClient.ts'
import type { Services } from '../server/services/index.ts'
import type { StaffSessionUser } from '../server/services/authService.ts'
import type { CheckSummary } from '../server/services/eligibilityService.ts'

export interface ScenarioOptions {
  /** The embedded cluster's postmaster.pid, to count PostgreSQL's CPU time too; omit for an external database. */
  postmasterPidFile?: string
  labels: number
  /** A biobank code; default: the biobank with the most samples. */
  biobank?: string
  via: 'service' | 'api' | 'both'
  repeat: number
  log?: (line: string) => void
}

export interface ScenarioRun {
  via: 'service' | 'api'
  labels: number
  milliseconds: number
  /**
   * CPU time the run cost: this process plus every process of the embedded PostgreSQL cluster (when it is local).
   * On a shared, busy machine the wall time is mostly waiting for a core; the CPU time is what the check costs.
   */
  cpuMilliseconds?: { node: number; postgres: number | null }
  /** For `service`: the CPU time of the check alone (without reading the eligible labels back). */
  checkCpuMilliseconds?: { node: number; postgres: number | null }
  loadAverage: number
  /** For `service`: the check alone, then reading the eligible labels back. */
  checkMilliseconds?: number
  readMilliseconds?: number
  /**
   * For `service`: from the check's commit until it is indexed for the citizen's log (the service indexes in the
   * background, while the eligible labels are read back; the check does not wait).
   */
  indexedMilliseconds?: number
  summary: Pick<CheckSummary, 'requested' | 'duplicates' | 'eligible' | 'excluded'>
}

export interface ScenarioResult {
  biobank: string
  known: number
  runs: ScenarioRun[]
  /** The floor of each round (see eligibilityFloor), for a `service` run. */
  floorMilliseconds: number[]
  /** Whether the planner ran each round's floor join in parallel. */
  floorParallel: boolean[]
  /**
   * The size of the index every check scans (samples by biobank and label) when the scenario began. Appended to by
   * every biobank at once, its pages split half full; a REINDEX packs them (README, "Operations").
   */
  labelIndex: { megabytes: number; bytesPerEntry: number }
}

/**
 * The least any check of the list must do, on the same connection pool and the way the check does it: stream the
 * labels with COPY into an unlogged table of the check's work schema and find each among the biobank's samples (one
 * hash join, counted), on both cores with the leader only gathering. No opt-outs, no proof, nothing stored; rolled
 * back, which drops the table.
 */
export async function eligibilityFloor(services: Services, biobankId: number, labels: readonly string[]): Promise<{ milliseconds: number; found: number; parallel: boolean }> {
  const client = await services.database.pool.connect()
  const table = `eligibility_work.floor_${crypto.randomBytes(8).toString('hex')}`
  const join = `select count(s.id)::int as found from ${table} f join samples s on s.biobank_id = $1 and s.label = f.label`
  try {
    allowLongQueries(client)
    const started = performance.now()
    await client.query('begin')
    try {
      await client.query(`create unlogged table ${table} (label text not null)`)
      const copy = client.query(copyFrom(`copy ${table} (label) from stdin`, { highWaterMark: 1 << 20 }))
      await pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < labels.length; i += 5_000) yield `${labels.slice(i, i + 5_000).join('\n')}\n`
          })(),
        ),
        copy,
      )
      await client.query(`analyze ${table}`)
      await client.query("set local work_mem = '256MB'; set local parallel_leader_participation = off")
      const { rows } = await client.query<{ found: number }>(join, [biobankId])
      const milliseconds = performance.now() - started
      // Outside the timing: whether the planner ran the join in parallel, as it runs the check's decision.
      const plan = await client.query<{ 'QUERY PLAN': string }>(`explain ${join}`, [biobankId])
      const parallel = plan.rows.some((row) => /Gather|Parallel/.test(row['QUERY PLAN']))
      return { milliseconds, found: rows[0]!.found, parallel }
    } finally {
      await client.query('rollback')
    }
  } finally {
    client.release()
  }
}

/** CPU seconds of the postmaster and its children (the backends and background writers, live or ended), from /proc. */
function clusterCpuSeconds(pidFile: string | undefined): number | null {
  if (!pidFile || !fs.existsSync(pidFile)) return null
  const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
  const ticks = 100 // USER_HZ on Linux
  let total = 0
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(pid) === postmaster || Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / ticks
      // The children that ended (a pooled connection closed) leave their time with the postmaster, which reaped
      // them (cutime, cstime); without it the sum could go down between two readings.
      if (Number(pid) === postmaster) total += (Number(fields[13]) + Number(fields[14])) / ticks
    } catch {
      // The process ended while being read.
    }
  }
  return total
}

function cpuMeter(pidFile: string | undefined) {
  const node = process.cpuUsage()
  const postgres = clusterCpuSeconds(pidFile)
  return () => {
    const used = process.cpuUsage(node)
    const after = clusterCpuSeconds(pidFile)
    return { node: Math.round((used.user + used.system) / 1000), postgres: postgres === null || after === null ? null : Math.round((after - postgres) * 1000) }
  }
}

/** A biobank admin of `biobankCode`, signed in as the development provider would sign one in. */
async function benchAdmin(services: Services, biobankCode: string): Promise<StaffSessionUser> {
  const result = await services.auth.signInStaff({ sub: `bench-admin-${biobankCode}`, name: `Bench Admin ${biobankCode}`, role: 'biobank_admin', biobank: biobankCode }, 'urn:bench')
  if (!('user' in result)) throw new Error(`cannot sign in a bench admin for ${biobankCode}: ${result.reason}`)
  return result.user
}

async function pickLabels(services: Services, count: number, biobankCode?: string) {
  const { sequelize } = services.database
  const [biobank] = await sequelize.query<{ id: number; code: string; n: number }>(
    `select b.id, b.code, count(s.id)::int as n from biobanks b left join samples s on s.biobank_id = b.id
      ${biobankCode ? 'where b.code = :code' : ''} group by b.id order by n desc limit 1`,
    { replacements: { code: biobankCode ?? null }, type: QueryTypes.SELECT },
  )
  if (!biobank) throw new Error(`no biobank ${biobankCode}`)
  const own = await sequelize.query<{ label: string }>('select label from samples where biobank_id = :id order by id desc limit :count', {
    replacements: { id: biobank.id, count },
    type: QueryTypes.SELECT,
  })
  const others = own.length < count
    ? await sequelize.query<{ label: string }>('select label from samples where biobank_id <> :id order by id desc limit :count', {
        replacements: { id: biobank.id, count: count - own.length },
        type: QueryTypes.SELECT,
      })
    : []
  const labels = [...own, ...others].map((r) => r.label)
  // Shuffled (seeded), so the list is in no index's order.
  let seed = 42
  for (let i = labels.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    const j = seed % (i + 1)
    ;[labels[i], labels[j]] = [labels[j]!, labels[i]!]
  }
  return { biobank, labels, known: own.length }
}

async function labelIndexSize(services: Services): Promise<ScenarioResult['labelIndex']> {
  const [row] = await services.database.sequelize.query<{ bytes: string; samples: string }>(
    "select pg_relation_size('samples_label_per_biobank') as bytes, (select count(*) from samples) as samples",
    { type: QueryTypes.SELECT },
  )
  const bytes = Number(row!.bytes)
  return { megabytes: Math.round(bytes / 2 ** 20), bytesPerEntry: Math.round(bytes / Math.max(1, Number(row!.samples))) }
}

async function ensureProject(services: Services, admin: StaffSessionUser): Promise<number> {
  const reference = 'BENCH-ELIGIBILITY'
  const existing = (await services.eligibility.listProjects(admin)).find((p) => p.reference === reference)
  if (existing) return existing.id
  const created = await services.eligibility.createProject(admin, { title: 'Benchmark (issue 7)', reference, approvalId: 'VEK-BENCH', purpose: 'both' })
  if ('error' in created) throw new Error(created.error)
  return created.project.id
}

/** POSTs the labels as one streamed JSON body and reads the streamed JSON answer. */
async function postLabels(baseUrl: string, key: string, projectId: number, labels: readonly string[]) {
  const url = new URL('/api/v1/eligibility', baseUrl)
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      response.on('error', reject)
    })
    request.on('error', reject)
    void (async () => {
      const write = (text: string) => (request.write(text) ? Promise.resolve() : new Promise<void>((done) => request.once('drain', () => done())))
      await write(`{"project":${projectId},"labels":[`)
      for (let i = 0; i < labels.length; i += 10_000) {
        await write(`${i === 0 ? '' : ','}${labels.slice(i, i + 10_000).map((l) => JSON.stringify(l)).join(',')}`)
      }
      request.end(']}')
    })().catch(reject)
  })
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const cpuText = (cpu: { node: number; postgres: number | null }) =>
  cpu.postgres === null ? `node ${seconds(cpu.node)}` : `${seconds(cpu.node + cpu.postgres)} (node ${seconds(cpu.node)}, PostgreSQL ${seconds(cpu.postgres)})`

/**
 * How fast this machine runs a fixed piece of JavaScript right now, in nanoseconds of CPU per loop iteration. On a
 * shared machine, other work slows everything down, CPU times included (cores and caches are shared); the figure
 * lets runs on a busy and a quiet machine be compared.
 */
export function calibrate(iterations = 50_000_000): number {
  const before = process.cpuUsage()
  let x = 0
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0
  const used = process.cpuUsage(before)
  if (x === 42) console.log('') // keeps the loop from being optimised away
  return ((used.user + used.system) * 1000) / iterations
}

export async function runEligibilityScenario(services: Services, options: ScenarioOptions): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined)
  const { biobank, labels, known } = await pickLabels(services, options.labels, options.biobank)
  log(`${labels.length.toLocaleString('en')} labels, ${known.toLocaleString('en')} of them samples of ${biobank.code} (which has ${biobank.n.toLocaleString('en')})`)
  const admin = await benchAdmin(services, biobank.code)
  const projectId = await ensureProject(services, admin)
  const runs: ScenarioRun[] = []
  const floorMilliseconds: number[] = []
  const floorParallel: boolean[] = []
  const labelIndex = await labelIndexSize(services)
  log(`label index: ${labelIndex.megabytes.toLocaleString('en')} MB, ${labelIndex.bytesPerEntry} bytes per sample`)

  log(`calibration: ${calibrate().toFixed(1)} ns of CPU per loop iteration (lower is a quieter machine)`)
  for (let round = 0; round < options.repeat; round++) {
    if (options.via !== 'api') {
      const cpu = cpuMeter(options.postmasterPidFile)
      const loadAverage = os.loadavg()[0]!
      const started = performance.now()
      const summary = await services.eligibility.checkLabels({ kind: 'staff', user: admin }, projectId, labels, { source: 'list' })
      const checked = performance.now()
      const checkCpuMilliseconds = cpu()
      let read = 0
      const found = await services.eligibility.eligibleLabels({ kind: 'staff', user: admin }, summary.id)
      for await (const batch of found!.labels()) read += batch.length
      const ended = performance.now()
      if (read !== summary.eligible) throw new Error(`read ${read} eligible labels, the check counted ${summary.eligible}`)
      // Waits for the service's indexing of the check for the citizen's log, which runs in the background.
      await services.eligibility.indexChecks()
      const indexed = performance.now()
      const cpuMilliseconds = cpu()
      runs.push({
        via: 'service',
        labels: labels.length,
        milliseconds: ended - started,
        checkMilliseconds: checked - started,
        readMilliseconds: ended - checked,
        indexedMilliseconds: indexed - checked,
        cpuMilliseconds,
        checkCpuMilliseconds,
        loadAverage,
        summary,
      })
      const floor = await eligibilityFloor(services, biobank.id, labels)
      if (floor.found < known) throw new Error(`the floor found ${floor.found} of the biobank's samples, the list names ${known}`)
      floorMilliseconds.push(floor.milliseconds)
      floorParallel.push(floor.parallel)
      log(`floor (COPY the labels, find each among the biobank's samples${floor.parallel ? ' in parallel' : ' SERIALLY'}, store nothing): ${seconds(floor.milliseconds)}`)
      log(
        `service: ${seconds(ended - started)} (check ${seconds(checked - started)}, CPU ${cpuText(checkCpuMilliseconds)}; reading ${read.toLocaleString('en')} eligible ${seconds(ended - checked)}; ` +
          `indexed for the citizen's log ${seconds(indexed - checked)} after the commit); ` +
          `CPU in all ${cpuText(cpuMilliseconds)}; load average ${loadAverage.toFixed(1)}; ${JSON.stringify(summary.excluded)}`,
      )
    }
    if (options.via !== 'service') {
      const { createApp } = await import('../server/app.ts')
      const server = http.createServer(createApp(services))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const { key } = await services.apiClients.issue(admin, `bench ${new Date().toISOString()}`)
        const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        const cpu = cpuMeter(options.postmasterPidFile)
        const loadAverage = os.loadavg()[0]!
        const started = performance.now()
        const response = await postLabels(baseUrl, key, projectId, labels)
        const ended = performance.now()
        if (response.status !== 201) throw new Error(`API answered ${response.status}: ${response.body.slice(0, 500)}`)
        const body = JSON.parse(response.body) as { requested: number; duplicates: number; eligible: string[]; excluded: CheckSummary['excluded'] }
        const summary = { requested: body.requested, duplicates: body.duplicates, eligible: body.eligible.length, excluded: body.excluded }
        const cpuMilliseconds = cpu()
        runs.push({ via: 'api', labels: labels.length, milliseconds: ended - started, cpuMilliseconds, loadAverage, summary })
        log(`api: ${seconds(ended - started)}, ${body.eligible.length.toLocaleString('en')} eligible; CPU ${cpuText(cpuMilliseconds)} (the client's JSON included); load average ${loadAverage.toFixed(1)}; ${JSON.stringify(body.excluded)}`)
      } finally {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    }
  }
  return { biobank: biobank.code, known, runs, floorMilliseconds, floorParallel, labelIndex }
}

// ---------------------------------------------------------------------------------------------------------------
// Command line

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/eligibilityScenario.ts')
if (isMain) {
  const { values } = parseArgs({
    options: {
      labels: { type: 'string', default: '1000000' },
      biobank: { type: 'string' },
      via: { type: 'string', default: 'both' },
      repeat: { type: 'string', default: '1' },
    },
    strict: true,
  })
  const via = values.via as ScenarioOptions['via']
  if (!['service', 'api', 'both'].includes(via)) throw new Error('--via is service, api or both')
  const { loadConfigFromEnvironment } = await import('../server/config.ts')
  const { bootstrap } = await import('../server/bootstrap.ts')
  const { createLogger } = await import('../server/logger.ts')
  const config = loadConfigFromEnvironment()
  const runtime = await bootstrap(config, createLogger('warn'))
  try {
    const result = await runEligibilityScenario(runtime.services, {
      labels: Number(values.labels.replace(/_/g, '')),
      biobank: values.biobank,
      via,
      repeat: Number(values.repeat),
      postmasterPidFile: config.database.url ? undefined : path.join(config.dataDir, 'pg', 'postmaster.pid'),
      log: (line) => console.log(line),
    })
    for (const kind of ['service', 'api'] as const) {
      const runs = result.runs.filter((r) => r.via === kind)
      if (runs.length === 0) continue
      const best = runs.reduce((a, b) => (b.milliseconds < a.milliseconds ? b : a))
      console.log(`${kind}: best of ${runs.length}: ${seconds(best.milliseconds)} wall, CPU ${best.cpuMilliseconds ? cpuText(best.cpuMilliseconds) : '?'}, for ${best.labels.toLocaleString('en')} labels`)
    }
  } finally {
    await runtime.shutdown()
  }
}
