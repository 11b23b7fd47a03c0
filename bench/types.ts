// The contract between the benchmark runner (bench/index.ts) and its scenarios. A scenario module exports
//
//   export async function run(ctx: BenchContext): Promise<ScenarioResult>
//
// and is listed once in bench/registry.ts. It measures its figures (and its floor, in the same run), states the
// targets, and reports the peak RSS of whatever served the load. The runner evaluates the targets, prints the table
// and writes the JSON and BENCHMARKS.md. A scenario that throws is recorded as crashed and makes the run exit 1;
// a missed target never does.
import type { Config } from '../server/config.ts'
import type { Services } from '../server/services/index.ts'
import type { Logger } from '../server/logger.ts'

/** What "good" means for one figure. `below` is strict (p99 < 50 ms), `atLeast` inclusive (≥ 1,000/s). */
export type Target =
  | { below: number }
  | { atLeast: number }
  /** The figure must reach this share of its floor (0.6 = 60 %), in the direction of `better`. */
  | { floorShareAtLeast: number }

export interface Metric {
  /** Short name for the table, e.g. "requests/s", "p99 latency". */
  name: string
  value: number
  /** "req/s", "ms", "s", "MB", "changes/s", "rows/s". */
  unit: string
  better: 'higher' | 'lower'
  /** The same figure for the floor, measured in the same run (same unit). */
  floor?: number
  target?: Target
}

/** A metric after the runner evaluated it. */
export interface EvaluatedMetric extends Metric {
  /** Performance relative to the floor (1 = as good as the floor): value/floor, or floor/value when lower is better. */
  ratio?: number
  met?: boolean
}

export interface ScenarioResult {
  /** Stable id, e.g. "citizen-samples". */
  id: string
  title: string
  metrics: Metric[]
  /** What the floor is, in one sentence (absent when the scenario has none). */
  floor?: string
  /** Peak RSS of the real server while the scenario ran (MB); null when no server process served it. */
  serverRssMaxMb: number | null
  /** Whose RSS `serverRssMaxMb` is, when not the real server's (e.g. "bench process (in-process scenario)"). */
  rssOf?: string
  /** Plain sentences for BENCHMARKS.md: settings, checks made, anything that qualifies the figures. */
  notes?: string[]
  /** Raw figures (autocannon summaries, counts) kept in the JSON only. */
  details?: Record<string, unknown>
}

export interface RecordedScenario extends Omit<ScenarioResult, 'metrics'> {
  metrics: EvaluatedMetric[]
  seconds: number
  /** Set when the scenario threw; its metrics are then empty. */
  error?: string
  /** Set when the scenario module is not present (an optional scenario not yet written). */
  skipped?: string
}

/** A real server process (`node --import tsx server/index.ts`) on the bench data folder. */
export interface ServerHandle {
  pid: number
  baseUrl: string
  /** Milliseconds from spawn to the first GET /readyz 200. */
  readyMs: number
  /** Starts an RSS window; `end()` returns the peak VmRSS (MB) sampled every 200 ms since `start`. */
  rssWindow(): { end(): number }
  /** Peak VmRSS (MB) since the process was spawned. */
  rssPeakMb(): number
  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<void>
}

export type ServerMode = 'development' | 'production'

export interface StartServerOptions {
  /** Overrides the run's server mode (only development can start a stopped embedded cluster). */
  nodeEnv?: ServerMode
  /** Extra environment for the server (on top of the bench's). */
  env?: Record<string, string>
}

export interface BenchContext {
  smoke: boolean
  /** Samples in the bench dataset (as seeded). */
  samples: number
  /** Bulk donors in the dataset. */
  donors: number
  /** Config of the bench data folder (loadConfig with DATA_DIR = the bench folder). */
  config: Config
  /** Services connected as the database owner to the bench database. Re-read after `database.start()`. */
  readonly services: Services
  logger: Logger
  /** NODE_ENV of the real server in this run (development unless `--production`). */
  serverMode: ServerMode
  /** Load settings for autocannon scenarios. */
  load: { connections: number; durationSeconds: number; warmupSeconds: number }
  /** Stops and starts the embedded cluster of the bench folder (the start-up scenario measures a cold start). */
  database: {
    /** Stops the shared server (if running), closes `services` and stops the cluster if the bench started it. */
    stop(): Promise<void>
    start(): Promise<void>
    /** TCP port of the cluster (the same after a restart). */
    readonly port: number
    /** True while a postmaster runs on the bench folder's cluster. */
    clusterRunning(): boolean
  }
  /** The shared real server, started on first use and reused by later scenarios (the runner stops it). */
  server(): Promise<ServerHandle>
  /** A new real server process of your own; stop it yourself. */
  startServer(options?: StartServerOptions): Promise<ServerHandle>
  /** Random bulk donors that have samples (distinct). */
  randomDonors(count: number): Promise<number[]>
  /** Progress line on stderr. */
  log(message: string): void
  /** A scratch folder for this run (files for floors, CSVs), removed at the end. */
  scratchDir: string
}

export type ScenarioRun = (ctx: BenchContext) => Promise<ScenarioResult>
