// `npm run soak [-- options]`: the load soak of issue 8. Against the bench dataset (built or reused by the bulk seeder
// in its own data folder, as `npm run bench` does) it starts the real server, signs staff in through the development
// OpenID provider, writes signed-in citizen sessions, and for --duration seconds drives a mix over --connections
// connections: citizen "my samples" views, opt-out changes with their receipt, staff searches with next pages, and a
// small CSV import through the web form every few seconds. It records requests, errors and p99 latency per kind and
// the server's memory over time, then checks the database: every receipt seen must be stored with its audit event,
// every imported row present. Writes bench/results/<time>-soak.json and the "## Load soak" section of BENCHMARKS.md
// (`--smoke`: a tiny dataset in .data/soak-smoke for seconds; its report goes next to the JSON).
// Exits 1 when there was any error or any lost opt-out (after writing the report), 2 on a usage error.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig, projectRoot } from '../server/config.ts'
import { createLogger } from '../server/logger.ts'
import { tryLoopbackPort } from '../server/db/embeddedPostgres.ts'
import { MAX_BULK_SAMPLES } from '../seeders/bulk.ts'
import { BenchDatabase, ensureDataset, randomDonorsWithSamples, type DatasetInfo } from './dataset.ts'
import { childEnvironment, freePort, spawnUntilReady, type SpawnedProcess } from './processes.ts'
import { machineInfo } from './report.ts'
import { createCitizenSessions, deleteBenchSessions } from './sessions.ts'
import { startFlows, type Drain, type FlowHandle, type OptOutCitizen, type OptOutTally } from './soak/flows.ts'
import { runImportLoop, type ImportTally } from './soak/imports.ts'
import { GROUP_TITLES, GROUPS, percentile, Recorder } from './soak/recorder.ts'
import { memoryCheck, soakMarkdown, soakSummary, type SoakRun } from './soak/report.ts'
import { withSoakSection } from './soak/section.ts'
import { signInStaff, type StaffSession } from './soak/staffLogin.ts'
import { checkImports, checkOptOuts, watermarks } from './soak/verify.ts'
import { runCommand, UsageError, wholeNumber } from './cli.ts'

const USAGE = `Usage: npm run soak [-- options]
  --samples N        dataset size (default 10,000,000; smoke 5,000; up to ${MAX_BULK_SAMPLES.toLocaleString('en')})
  --data-dir DIR     bench data folder holding the dataset (default .data/bench; smoke .data/soak-smoke). An empty
                     folder is seeded; a dataset of another size (or unfinished) is refused unless --reseed
  --reseed           seed the folder again with --samples samples (deletes what it holds)
  --smoke            tiny and quick: 5,000 samples in .data/soak-smoke, 10 s, 10 connections
  --duration S       seconds of load (default 600; smoke 10)
  --connections N    concurrent connections (default 100; smoke 10): 25 % opt-out, 20 % search, 1 import, the rest
                     citizen views
  --interval S       seconds per recorded window (default 10; smoke 2)
  --timeout S        a request without an answer in S seconds is an error (default 30)
  --import-every S   seconds between the starts of two imports (default 5; smoke 1)
  --import-rows N    rows per imported file (default 20; smoke 10)
  --pool-max N       DATABASE_POOL_MAX of the server (default: the server's own, 10)
  --out DIR          folder of the results JSON (default bench/results)
  --markdown FILE    the report whose "## Load soak" section is written (default BENCHMARKS.md; smoke: next to the JSON)`

function parseArguments() {
  let values
  try {
    values = parseArgs({
      options: {
        samples: { type: 'string' },
        'data-dir': { type: 'string' },
        reseed: { type: 'boolean', default: false },
        smoke: { type: 'boolean', default: false },
        duration: { type: 'string' },
        connections: { type: 'string' },
        interval: { type: 'string' },
        timeout: { type: 'string' },
        'import-every': { type: 'string' },
        'import-rows': { type: 'string' },
        'pool-max': { type: 'string' },
        out: { type: 'string' },
        markdown: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const smoke = values.smoke
  const dataDir = values['data-dir'] ?? (smoke ? '.data/soak-smoke' : '.data/bench')
  if (['.data', '.data/test', '.data/pg'].some((dir) => path.resolve(projectRoot, dataDir) === path.resolve(projectRoot, dir))) {
    throw new UsageError('--data-dir must be a folder of its own, not the development or test data folder')
  }
  return {
    smoke,
    samples: wholeNumber('samples', values.samples, smoke ? 5_000 : 10_000_000, 1_000, MAX_BULK_SAMPLES),
    dataDir,
    reseed: values.reseed,
    durationSeconds: wholeNumber('duration', values.duration, smoke ? 10 : 600, 3, 24 * 3600),
    connections: wholeNumber('connections', values.connections, smoke ? 10 : 100, 4, 1000),
    intervalSeconds: wholeNumber('interval', values.interval, smoke ? 2 : 10, 1, 3600),
    timeoutSeconds: wholeNumber('timeout', values.timeout, 30, 1, 600),
    importEverySeconds: wholeNumber('import-every', values['import-every'], smoke ? 1 : 5, 1, 3600),
    importRows: wholeNumber('import-rows', values['import-rows'], smoke ? 10 : 20, 1, 100_000),
    poolMax: values['pool-max'] === undefined ? undefined : wholeNumber('pool-max', values['pool-max'], 10, 1, 200),
    out: path.resolve(projectRoot, values.out ?? path.join('bench', 'results')),
    markdown: values.markdown ? path.resolve(projectRoot, values.markdown) : smoke ? undefined : path.join(projectRoot, 'BENCHMARKS.md'),
  }
}

type Args = ReturnType<typeof parseArguments>

const log = (message: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`)

/** The demo staff who search (one of each kind of staff user) and the one who imports (seeders/demoPeople.ts). */
const SEARCHERS = [
  { userId: 'stine', auditor: false },
  { userId: 'henrik', auditor: false },
  { userId: 'mette', auditor: false },
  { userId: 'revisor', auditor: true },
]
const IMPORTER = { userId: 'stine', biobank: 'RH' }

/** 25 % opt-out, 20 % search, one import connection, the rest citizen views. */
function split(connections: number) {
  const imports = 1
  const search = Math.max(1, Math.round(connections * 0.2))
  const optOut = Math.max(1, Math.round(connections * 0.25))
  return { citizenViews: connections - imports - search - optOut, optOut, search, imports }
}

/** Reuses the dataset of the wanted size, seeds an empty folder, and refuses anything else without --reseed. */
async function dataset(database: BenchDatabase, args: Args): Promise<DatasetInfo> {
  const pool = database.services.database.pool
  const { rows } = await pool.query<{ marker: boolean; any: boolean }>(
    `select to_regclass('bench_dataset') is not null as marker, exists (select 1 from samples) or exists (select 1 from donors) as any`,
  )
  const marks = rows[0]!.marker ? (await pool.query<{ samples: string }>('select samples from bench_dataset order by seeded_at desc limit 1')).rows : []
  const marked = marks[0] ? Number(marks[0].samples) : undefined
  if (!args.reseed && marked !== args.samples && (marked !== undefined || rows[0]!.any)) {
    throw new UsageError(
      marked !== undefined
        ? `${args.dataDir} holds a dataset of ${marked.toLocaleString('en')} samples, not ${args.samples.toLocaleString('en')}: pass --samples ${marked} to soak that one, or --reseed to replace it`
        : `${args.dataDir} holds data without a record of its size (a seeding that has not finished?): wait for it, or pass --reseed to replace it`,
    )
  }
  return await ensureDataset(database, args.samples, { reseed: args.reseed, log })
}

/** The real server on the bench folder, with BASE_URL on the loopback address it listens on (the OIDC redirects). */
async function startServer(dataDir: string, pgPort: number, poolMax: number | undefined): Promise<SpawnedProcess> {
  const port = await freePort()
  return await spawnUntilReady({
    name: 'the server (development)',
    args: [path.join('server', 'index.ts')],
    port,
    readyPath: '/readyz',
    env: childEnvironment({
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
      SEED_DEMO_DATA: 'false',
      EMBEDDED_PG_PORT: String(pgPort),
      ...(poolMax ? { DATABASE_POOL_MAX: String(poolMax) } : {}),
    }),
  })
}

/** Counts the server's log lines at level error or worse (pino JSON: level ≥ 50); keeps the last few. */
function watchServerLog(server: SpawnedProcess) {
  const watch = { errorLines: 0, last: [] as string[], exited: null as string | null }
  let partial = ''
  const onData = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8')
    const lines = text.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const level = /"level":(\d+)/.exec(line)?.[1]
      if (level && Number(level) >= 50) {
        watch.errorLines += 1
        watch.last.push(line.slice(0, 400))
        if (watch.last.length > 5) watch.last.shift()
      }
    }
  }
  server.child.stdout?.on('data', onData)
  server.child.stderr?.on('data', onData)
  server.child.once('exit', (code, signal) => {
    watch.exited = `exit code ${code}, signal ${signal}`
  })
  return watch
}

const fmtMs = (value: number | null) => (value === null ? '–' : `${Math.round(value)} ms`)

async function main(): Promise<number> {
  const args = parseArguments()
  const startedAt = new Date()
  const extra = process.argv.slice(2)
  const command = `npm run soak${extra.length > 0 ? ` -- ${extra.join(' ')}` : ''}`
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biobank-soak-'))

  const pgPort = (await tryLoopbackPort(args.smoke ? 54379 : 54369)) ?? (await tryLoopbackPort(0))!
  const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: args.dataDir, LOG_LEVEL: 'warn', SEED_DEMO_DATA: 'false', EMBEDDED_PG_PORT: String(pgPort) })
  const database = new BenchDatabase(config, createLogger('warn'))
  log(`data folder ${config.dataDir}`)
  await database.start()

  let server: SpawnedProcess | undefined
  const staffSessions: StaffSession[] = []
  const cleanUp = async () => {
    const running = server
    server = undefined
    await running?.stop()
    if (database.running) {
      const pool = database.services.database.pool
      await deleteBenchSessions(pool).catch(() => undefined)
      await pool.query('delete from sessions where sid = any($1::text[])', [staffSessions.map((s) => s.sid)]).catch(() => undefined)
    }
  }
  const interrupted = () => {
    void cleanUp()
      .then(() => database.stop())
      .finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)

  try {
    const info = await dataset(database, args)
    const pool = database.services.database.pool
    const machine = await machineInfo(pool)
    const mix = split(args.connections)

    // Citizens: some to view pages (random per request), others each held by one opt-out connection at a time.
    const viewerCount = args.smoke ? 50 : 1000
    const optOutCount = mix.optOut * 4
    const donorIds = await randomDonorsWithSamples(pool, viewerCount + optOutCount)
    const sessions = await createCitizenSessions(pool, config.secrets.session, donorIds, config.auth.absoluteMinutes)
    const viewers = sessions.slice(0, viewerCount)
    const { rows: states } = await pool.query<{ donor_id: string; material: boolean; genetic: boolean }>(
      'select donor_id, material, genetic from opt_outs where donor_id = any($1::bigint[])',
      [donorIds.slice(viewerCount)],
    )
    const stateOf = new Map(states.map((s) => [Number(s.donor_id), s]))
    const optOutCitizens: OptOutCitizen[] = sessions.slice(viewerCount).map((s) => ({
      ...s,
      material: stateOf.get(s.donorId)?.material ?? false,
      genetic: stateOf.get(s.donorId)?.genetic ?? false,
      heldUntil: 0,
      retired: false,
    }))
    log(`${viewerCount} citizens viewing, ${optOutCount} changing opt-outs (sessions written)`)

    log('starting the server')
    server = await startServer(config.dataDir, database.port, args.poolMax)
    const serverLog = watchServerLog(server)
    const baseUrl = server.baseUrl
    for (const s of SEARCHERS) staffSessions.push(await signInStaff(baseUrl, s.userId))
    const importer = await signInStaff(baseUrl, IMPORTER.userId, '/medarbejder/import')
    staffSessions.push(importer)
    log(`staff signed in through the development OpenID provider: ${SEARCHERS.map((s) => s.userId).join(', ')} (search), ${IMPORTER.userId} (import)`)

    const marks = await watermarks(pool)
    const recorder = new Recorder()
    recorder.startRss(server.pid)
    const drain: Drain = { draining: false }
    const optOutTally: OptOutTally = { receipts: [], repeatsSameReceipt: 0, changesWithoutAnswer: 0, inFlight: 0 }
    const importTally: ImportTally = { files: [] }
    const repeatShare = 0.05
    const maxExtraSearchPages = 4
    log(
      `load: ${args.connections} connections for ${args.durationSeconds} s: ${mix.citizenViews} citizen views, ${mix.optOut} opt-out, ${mix.search} search, ` +
        `${mix.imports} import (${args.importRows} rows every ${args.importEverySeconds} s)`,
    )
    const flows = startFlows({
      baseUrl,
      recorder,
      drain,
      timeoutSeconds: args.timeoutSeconds,
      viewers: { sessions: viewers, connections: mix.citizenViews },
      optOut: { citizens: optOutCitizens, connections: mix.optOut, tally: optOutTally, repeatShare },
      search: { staff: SEARCHERS.map((s, i) => ({ session: staffSessions[i]!, auditor: s.auditor })), connections: mix.search, maxExtraPages: maxExtraSearchPages },
    })
    const importsDone = runImportLoop(
      {
        baseUrl,
        session: importer,
        recorder,
        everySeconds: args.importEverySeconds,
        rows: args.importRows,
        donorIds,
        scratchDir,
        timeoutSeconds: Math.max(args.timeoutSeconds, 120),
        runPrefix: `S${startedAt.getTime().toString(36).toUpperCase()}`,
      },
      importTally,
      () => drain.draining,
    )

    // The load, with a line per window.
    const endAt = args.durationSeconds
    for (let from = 0; from < endAt && !serverLog.exited; ) {
      const to = Math.min(from + args.intervalSeconds, endAt)
      while (recorder.now() < to && !serverLog.exited) await sleep(Math.min(250, Math.max(1, (to - recorder.now()) * 1000)))
      const w = recorder.window(from, to)
      log(
        `${Math.round(to)} s: ${w.requests.toLocaleString('en')} requests (${Math.round(w.requests / Math.max(to - from, 0.001))}/s), ${w.errors} errors; p99 ` +
          `${GROUPS.map((g) => `${GROUP_TITLES[g]} ${fmtMs(w.groups[g].p99Ms)}`).join(', ')}; receipts ${optOutTally.receipts.length}, ` +
          `imports ${importTally.files.filter((f) => f.outcome === 'imported').length}; server RSS ${w.rssMaxMb ?? '–'} MB`,
      )
      from = to
    }
    if (serverLog.exited) log(`the server ended during the soak (${serverLog.exited})`)

    // Drain: no new work; every change in flight answered (or timed out), the import in progress finished.
    const loadSeconds = recorder.now()
    drain.draining = true
    log('draining: waiting for the changes and the import in flight')
    const autocannonResults: SoakRun['autocannon'] = {}
    const finish = async (handle: FlowHandle) => {
      const result = await handle.stop()
      autocannonResults[handle.name] = {
        requests: Object.values(result.statusCodeStats).reduce((a, b) => a + b.count, 0),
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
      }
    }
    await Promise.all([finish(flows.views), finish(flows.search)])
    const drainUntil = Date.now() + (args.timeoutSeconds + 5) * 1000
    while (optOutTally.inFlight > 0 && Date.now() < drainUntil && !serverLog.exited) await sleep(50)
    await finish(flows.optOut)
    await importsDone
    recorder.stopRss()
    // Before the soak stops it: did the server end by itself?
    const exitedEarly = serverLog.exited

    log('checking the database')
    const optOuts = await checkOptOuts(pool, marks, optOutTally.receipts, optOutCitizens)
    const imports = await checkImports(pool, IMPORTER.biobank, importTally.files)
    // What the checks found is an error too (of the kind that should have stored it).
    const unexplained = optOuts.rowsWithoutReceipt - optOutTally.changesWithoutAnswer
    if (unexplained > 0) recorder.laterError('opt-out-change', 'stored changes no receipt was seen for, beyond the change requests without an answer', unexplained)
    if (imports.missingRows > 0) recorder.laterError('import-job', 'rows of imported files missing from the database', imports.missingRows)
    if (imports.rowsOfFailedFiles > 0) recorder.laterError('import-job', 'rows of files that were not imported found in the database', imports.rowsOfFailedFiles)
    if (exitedEarly) recorder.laterError('citizen-samples', `the server ended during the soak (${exitedEarly})`, 1)

    await cleanUp()

    const kinds = recorder.totals()
    const totalRequests = kinds.filter((k) => k.kind !== 'import-job').reduce((a, k) => a + k.requests, 0)
    const totalErrors = kinds.reduce((a, k) => a + k.errors, 0)
    const importSeconds = Float64Array.from(importTally.files.filter((f) => f.outcome === 'imported').map((f) => f.seconds)).sort()
    const memory = memoryCheck(recorder.rss, loadSeconds)
    const minuteSeconds = loadSeconds >= 180 ? 60 : args.intervalSeconds
    const run: SoakRun = {
      mode: args.smoke ? 'smoke' : 'full',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command,
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
      dataset: { ...info, dataDir: path.relative(projectRoot, config.dataDir) || config.dataDir },
      settings: {
        durationSeconds: args.durationSeconds,
        loadSeconds: Math.round(loadSeconds * 10) / 10,
        intervalSeconds: args.intervalSeconds,
        connections: args.connections,
        split: mix,
        timeoutSeconds: args.timeoutSeconds,
        nodeEnv: 'development',
        databasePoolMax: args.poolMax ?? config.database.poolMax,
        citizensViewing: viewerCount,
        citizensOptingOut: optOutCount,
        staffSearching: SEARCHERS.map((s) => s.userId),
        staffImporting: IMPORTER.userId,
        importEverySeconds: args.importEverySeconds,
        importRows: args.importRows,
        importBiobank: IMPORTER.biobank,
        repeatShare,
        maxExtraSearchPages,
      },
      kinds,
      totals: { requests: totalRequests, errors: totalErrors, requestsPerSecond: Math.round((totalRequests / Math.max(loadSeconds, 0.001)) * 10) / 10 },
      windows: recorder.windows(args.intervalSeconds, loadSeconds),
      minutes: recorder.windows(minuteSeconds, loadSeconds),
      rss: recorder.rss,
      memory,
      optOuts: { ...optOuts, repeatsSameReceipt: optOutTally.repeatsSameReceipt, changesWithoutAnswer: optOutTally.changesWithoutAnswer },
      imports: { ...imports, importSeconds: { p50: percentile(importSeconds, 50), p99: percentile(importSeconds, 99) } },
      autocannon: autocannonResults,
      server: { errorLogLines: serverLog.errorLines, exitedEarly, lastErrorLines: serverLog.last },
      verdict: {
        errors: totalErrors,
        lostOptOuts: optOuts.lost,
        memoryGrowth: memory.growth,
        importRowsMissing: imports.missingRows,
        passed: totalErrors === 0 && optOuts.lost === 0,
      },
    }

    console.log(`\n${soakSummary(run)}\n`)
    fs.mkdirSync(args.out, { recursive: true })
    const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')
    const jsonFile = path.join(args.out, `${stamp}-soak${args.smoke ? '-smoke' : ''}.json`)
    fs.writeFileSync(jsonFile, `${JSON.stringify(run, null, 2)}\n`)
    const section = soakMarkdown(run)
    const markdownFile = args.markdown ?? jsonFile.replace(/\.json$/, '.md')
    const previous = fs.existsSync(markdownFile) ? fs.readFileSync(markdownFile, 'utf8') : args.markdown ? '# Benchmarks\n' : ''
    fs.writeFileSync(markdownFile, withSoakSection(previous, section))
    log(`wrote ${path.relative(projectRoot, jsonFile)} and ${path.relative(projectRoot, markdownFile)}`)
    return run.verdict.passed ? 0 : 1
  } finally {
    await cleanUp()
    await database.stop()
    fs.rmSync(scratchDir, { recursive: true, force: true })
  }
}

await runCommand('soak', USAGE, main)
