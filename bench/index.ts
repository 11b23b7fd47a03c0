// `npm run bench [-- --samples 10000000]`: builds (or reuses) the synthetic national dataset in its own data folder
// (.data/bench, its own embedded cluster; .data/pg is never touched), runs every scenario of bench/registry.ts with
// its floor, prints a table, and writes bench/results/<timestamp>.json and BENCHMARKS.md (with the query plans).
// `npm run bench:smoke` does the same in seconds on a few thousand samples (.data/bench-smoke), writing the JSON and
// a Markdown copy to bench/results only. Exits 1 when a scenario crashes; a missed target is reported, not fatal.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig, projectRoot } from '../server/config.ts'
import { createLogger } from '../server/logger.ts'
import { tryLoopbackPort } from '../server/db/embeddedPostgres.ts'
import { MAX_BULK_SAMPLES } from '../seeders/bulk.ts'
import { BenchDatabase, ensureDataset, randomDonorsWithSamples } from './dataset.ts'
import { explainHotQueries } from './explain.ts'
import { RssSampler, startRealServer, type SpawnedProcess } from './processes.ts'
import { scenarios } from './registry.ts'
import { consoleTable, evaluate, machineInfo, markdown, RSS_TARGET_MB, type BenchRun } from './report.ts'
import type { BenchContext, RecordedScenario, ServerHandle, ServerMode, StartServerOptions } from './types.ts'
import { runCommand, UsageError, wholeNumber } from './cli.ts'

const USAGE = `Usage: npm run bench [-- options]      npm run bench:smoke
  --samples N       dataset size (default 1,000,000; smoke 5,000; up to ${MAX_BULK_SAMPLES.toLocaleString('en')}; 10_000_000 allowed)
  --smoke           tiny and quick: 5,000 samples in .data/bench-smoke, 1 s per measurement, no warm-up
  --reseed          seed again even when the dataset of this size exists
  --duration S      seconds per load measurement (default 20; smoke 1)
  --warmup S        seconds of warm-up before each measurement (default 3; smoke 0)
  --connections N   concurrent connections (default 50)
  --pool-max N      DATABASE_POOL_MAX of the server (default: the server's own, 10)
  --production      run the server with NODE_ENV=production (view cache, no development OpenID provider) over
                    DATABASE_URL to the bench cluster; the cold start is still a development start
  --cpu-prof DIR    write V8 CPU profiles of the server processes into DIR (open them in Chrome DevTools)
  --only IDS        run only these scenarios (comma-separated: ${scenarios.map((s) => s.id).join(', ')})
  --data-dir DIR    bench data folder (default .data/bench; smoke .data/bench-smoke)
  --out DIR         folder of the results JSON (default bench/results)
  --markdown FILE   where to write the report (default BENCHMARKS.md; smoke: next to the JSON)
  --no-explain      leave out the EXPLAIN (ANALYZE, BUFFERS) of the hot queries`

function parseArguments() {
  let values
  try {
    values = parseArgs({
      options: {
        samples: { type: 'string' },
        smoke: { type: 'boolean', default: false },
        reseed: { type: 'boolean', default: false },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        'pool-max': { type: 'string' },
        production: { type: 'boolean', default: false },
        only: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'data-dir': { type: 'string' },
        out: { type: 'string' },
        markdown: { type: 'string' },
        'no-explain': { type: 'boolean', default: false },
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
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = only?.filter((id) => !scenarios.some((s) => s.id === id)) ?? []
  if (unknown.length > 0) throw new UsageError(`--only: no scenario ${unknown.join(', ')}`)
  const out = path.resolve(projectRoot, values.out ?? path.join('bench', 'results'))
  return {
    smoke,
    samples: wholeNumber('samples', values.samples, smoke ? 5_000 : 1_000_000, 1_000, MAX_BULK_SAMPLES),
    reseed: values.reseed,
    durationSeconds: wholeNumber('duration', values.duration, smoke ? 1 : 20, 1, 600),
    warmupSeconds: wholeNumber('warmup', values.warmup, smoke ? 0 : 3, 0, 600),
    connections: wholeNumber('connections', values.connections, 50, 1, 1000),
    serverMode: (values.production ? 'production' : 'development') as ServerMode,
    poolMax: values['pool-max'] === undefined ? undefined : wholeNumber('pool-max', values['pool-max'], 10, 1, 200),
    only,
    cpuProfileDir: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    dataDir: values['data-dir'] ?? (smoke ? '.data/bench-smoke' : '.data/bench'),
    out,
    markdown: values.markdown ? path.resolve(projectRoot, values.markdown) : smoke ? undefined : path.join(projectRoot, 'BENCHMARKS.md'),
    explain: !values['no-explain'],
  }
}

const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)

async function main(): Promise<number> {
  const args = parseArguments()
  if (['.data', '.data/test'].some((dir) => path.resolve(projectRoot, args.dataDir) === path.resolve(projectRoot, dir))) {
    throw new UsageError('--data-dir must be a folder of its own, not the development or test data folder')
  }
  const startedAt = new Date()
  const extra = process.argv.slice(2).filter((a) => a !== '--smoke')
  const command = `npm run ${args.smoke ? 'bench:smoke' : 'bench'}${extra.length > 0 ? ` -- ${extra.join(' ')}` : ''}`
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biobank-bench-'))

  // The bench folder's own cluster on its own port (a running one keeps the port it has).
  const preferredPort = args.smoke ? 54349 : 54339
  const pgPort = (await tryLoopbackPort(preferredPort)) ?? (await tryLoopbackPort(0))!
  const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: args.dataDir, LOG_LEVEL: 'warn', SEED_DEMO_DATA: 'false', EMBEDDED_PG_PORT: String(pgPort) })
  const logger = createLogger('warn')
  const database = new BenchDatabase(config, logger)
  log(`data folder ${config.dataDir}`)
  await database.start()

  let shared: SpawnedProcess | undefined
  const startServer = (options: StartServerOptions = {}) =>
    startRealServer({
      dataDir: config.dataDir,
      pgPort: database.port,
      nodeEnv: options.nodeEnv ?? args.serverMode,
      production:
        (options.nodeEnv ?? args.serverMode) === 'production'
          ? { databaseUrl: database.url, sessionSecret: config.secrets.session, cprHmacKey: config.secrets.cprHmacKey, cprEncryptionKey: config.secrets.cprEncryptionKey }
          : undefined,
      poolMax: args.poolMax,
      env: options.env,
      nodeArgs: args.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProfileDir}`] : undefined,
    })
  const stopShared = async () => {
    const server = shared
    shared = undefined
    await server?.stop()
  }
  const interrupted = () => {
    void stopShared().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)

  try {
    const dataset = await ensureDataset(database, args.samples, { reseed: args.reseed, log })
    const machine = await machineInfo(database.services.database.pool)

    const ctx: BenchContext = {
      smoke: args.smoke,
      samples: dataset.samples,
      donors: dataset.donors,
      config,
      get services() {
        return database.services
      },
      logger,
      serverMode: args.serverMode,
      load: { connections: args.connections, durationSeconds: args.durationSeconds, warmupSeconds: args.warmupSeconds },
      database: {
        stop: async () => {
          await stopShared()
          await database.stop()
        },
        start: () => database.start(),
        get port() {
          return database.port
        },
        clusterRunning: () => fs.existsSync(path.join(config.dataDir, 'pg', 'postmaster.pid')),
      },
      server: async (): Promise<ServerHandle> => {
        if (!shared) {
          log('starting the server')
          shared = await startServer()
        }
        return shared
      },
      startServer,
      randomDonors: (count) => randomDonorsWithSamples(database.services.database.pool, count),
      log,
      scratchDir,
    }

    const recorded: RecordedScenario[] = []
    for (const entry of scenarios.filter((s) => !args.only || args.only.includes(s.id))) {
      const started = Date.now()
      const benchRss = new RssSampler(process.pid)
      const window = benchRss.window()
      try {
        const run = await entry.load()
        if ('missing' in run) {
          log(`${entry.id}: skipped (${run.missing})`)
          recorded.push({ id: entry.id, title: entry.title, metrics: [], serverRssMaxMb: null, seconds: 0, skipped: run.missing })
          continue
        }
        log(`${entry.id}: running`)
        const result = await run(ctx)
        if (!database.running) await database.start()
        const inProcess = result.serverRssMaxMb === null
        recorded.push({
          ...result,
          id: entry.id,
          metrics: result.metrics.map(evaluate),
          ...(inProcess ? { serverRssMaxMb: window.end(), rssOf: result.rssOf ?? 'bench process: in-process scenario' } : {}),
          seconds: (Date.now() - started) / 1000,
        })
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
        log(`${entry.id}: CRASHED\n${message}`)
        recorded.push({ id: entry.id, title: entry.title, metrics: [], serverRssMaxMb: null, seconds: (Date.now() - started) / 1000, error: message })
        if (!database.running) await database.start().catch(() => undefined)
      } finally {
        benchRss.stop()
      }
    }
    await stopShared()

    let explain: BenchRun['explain']
    let explainError: string | undefined
    if (args.explain) {
      log('explain: the hot queries')
      try {
        explain = await explainHotQueries(database.services, config.secrets.session, await ctx.randomDonors(200))
      } catch (error) {
        explainError = error instanceof Error ? error.message : String(error)
        log(`explain: failed: ${explainError}`)
      }
    }

    const serverRss = recorded.filter((s) => !s.rssOf && s.serverRssMaxMb !== null).map((s) => s.serverRssMaxMb!)
    const maxRss = serverRss.length > 0 ? Math.max(...serverRss) : 0
    const run: BenchRun = {
      mode: args.smoke ? 'smoke' : 'full',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command,
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((n) => Math.round(n * 100) / 100) },
      dataset: { ...dataset, dataDir: path.relative(projectRoot, config.dataDir) || config.dataDir },
      settings: { connections: args.connections, durationSeconds: args.durationSeconds, warmupSeconds: args.warmupSeconds, nodeEnv: args.serverMode, databasePoolMax: args.poolMax ?? config.database.poolMax },
      scenarios: recorded,
      rss: { maxMb: maxRss, targetMb: RSS_TARGET_MB, met: maxRss < RSS_TARGET_MB },
      ...(explain ? { explain } : {}),
      ...(explainError ? { explainError } : {}),
    }

    console.log(`\n${consoleTable(run)}\n`)
    fs.mkdirSync(args.out, { recursive: true })
    const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')
    const jsonFile = path.join(args.out, `${stamp}${args.smoke ? '-smoke' : ''}.json`)
    fs.writeFileSync(jsonFile, `${JSON.stringify(run, null, 2)}\n`)
    const markdownFile = args.markdown ?? jsonFile.replace(/\.json$/, '.md')
    fs.writeFileSync(markdownFile, markdown(run, command, markdownFile))
    log(`wrote ${path.relative(projectRoot, jsonFile)} and ${path.relative(projectRoot, markdownFile)}`)

    const crashed = recorded.filter((s) => s.error)
    if (crashed.length > 0) log(`crashed: ${crashed.map((s) => s.id).join(', ')}`)
    return crashed.length > 0 ? 1 : 0
  } finally {
    await stopShared()
    await database.stop()
    fs.rmSync(scratchDir, { recursive: true, force: true })
  }
}

await runCommand('bench', USAGE, main)
