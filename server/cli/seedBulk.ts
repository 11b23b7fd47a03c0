// `npm run seed:bulk -- --samples N [--batch ROWS] [--seed S]`: add N synthetic samples (with ~N/8 donors) for load
// testing, streamed with COPY. Refused in production. Progress goes to stderr, the summary to stdout.
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import { loadConfigFromEnvironment } from '../config.ts'
import { bootstrap } from '../bootstrap.ts'
import { MAX_BULK_SAMPLES, seedBulk, type BulkPhase, BULK_PHASE_NAMES } from '../../seeders/bulk.ts'
import { failAndExit } from './fail.ts'

const USAGE = `Usage: npm run seed:bulk -- --samples N [--batch ROWS] [--seed S]
  --samples N    how many samples to add, 1 to ${MAX_BULK_SAMPLES.toLocaleString('en')} (underscores allowed: 1_000_000)
  --batch ROWS   rows generated per chunk written to COPY (default 5000)
  --seed S       PRNG seed (default: the run's first sample id)`

class UsageError extends Error {}

function positiveInteger(name: string, value: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined
  const cleaned = value.replace(/_/g, '')
  const n = Number(cleaned)
  if (!/^\d+$/.test(cleaned) || !Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max.toLocaleString('en')}, not "${value}"`)
  return n
}

const readArgs = () =>
  parseArgs({
    options: {
      samples: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values

function parseArguments() {
  let values: ReturnType<typeof readArgs>
  try {
    values = readArgs()
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const samples = positiveInteger('samples', values.samples, MAX_BULK_SAMPLES)
  if (samples === undefined) throw new UsageError('--samples is required')
  return { samples, batch: positiveInteger('batch', values.batch, 1_000_000), seed: positiveInteger('seed', values.seed, 2 ** 32 - 1) }
}

let args: ReturnType<typeof parseArguments>
try {
  args = parseArguments()
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`seed:bulk: ${error.message}\n\n${USAGE}`)
  process.exit(2)
}

try {
  const config = loadConfigFromEnvironment()
  if (config.production) throw new Error('seed:bulk adds synthetic people and is refused when NODE_ENV=production')
  const runtime = await bootstrap(config)
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{phase} |{bar}| {percentage}% | {value}/{total} | {duration_formatted}',
      hideCursor: true,
      fps: 5,
      // Not a terminal (CI, a log file): one line every 5 seconds instead of an animated bar.
      noTTYOutput: true,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  )
  let phase: BulkPhase | undefined
  bar.start(1, 0, { phase: BULK_PHASE_NAMES.reserve.padEnd(16) })
  try {
    const result = await seedBulk(runtime.services, {
      ...args,
      onProgress: (p) => {
        if (p.phase !== phase) {
          phase = p.phase
          bar.setTotal(Math.max(p.total, 1))
        }
        bar.update(p.done, { phase: BULK_PHASE_NAMES[p.phase].padEnd(16) })
      },
    })
    bar.stop()
    console.log(
      `Added ${result.samples.toLocaleString('en')} samples, ${result.donors.toLocaleString('en')} donors, ` +
        `${result.sampleEvents.toLocaleString('en')} sample events, ${result.optOuts.toLocaleString('en')} opt-outs ` +
        `(run ${result.runId}, labels BULK-${result.runId}-…) in ${(result.milliseconds / 1000).toFixed(1)} s` +
        (result.fastPath ? ', foreign keys checked set-based.' : '.'),
    )
  } finally {
    bar.stop()
    await runtime.shutdown()
  }
} catch (error) {
  failAndExit(error)
}
