// `npx tsx server/cli/import.ts --biobank RH [--dry-run] [--lang da|en] FILE.csv`: the staff CSV import from the
// command line, for files too large to upload. All or nothing, like the web import; progress on stderr, the summary
// on stdout, every issue on stderr. Exit 0 when the file was imported (or the dry run found nothing), 1 when it was
// rejected, 2 on a usage error.
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import i18next, { type TFunction } from 'i18next'
import { loadConfigFromEnvironment } from '../config.ts'
import { bootstrap } from '../bootstrap.ts'
import { createLogger } from '../logger.ts'
import { readTranslations } from '../setUpViews.ts'
import { UnknownBiobankError, type ImportResult } from '../services/importService.ts'
import type { ImportPhase } from '../services/import/run.ts'
import { issueMessage } from '../services/import/messages.ts'
import type { Lang } from '../domain/vocabulary.ts'
import { failAndExit } from './fail.ts'

const USAGE = `Usage: npm run import -- --biobank CODE [--dry-run] [--lang da|en] FILE.csv
  --biobank CODE   the biobank the samples belong to (RH, RSJ, RSD, RM, RN, ...)
  --dry-run        check the file and report every issue, store nothing
  --lang da|en     language of the messages (default da)`

class UsageError extends Error {}

/** Issues printed at most (all are counted); a file can hold millions. */
const MAX_ISSUES = 100_000

function parseArguments() {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        biobank: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        lang: { type: 'string', default: 'da' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  if (!values.biobank || !/^[A-Z]{2,5}$/.test(values.biobank)) throw new UsageError('--biobank must be a biobank code such as RH')
  if (values.lang !== 'da' && values.lang !== 'en') throw new UsageError('--lang must be da or en')
  if (positionals.length !== 1) throw new UsageError('give exactly one CSV file')
  const file = path.resolve(positionals[0]!)
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`no such file: ${positionals[0]}`)
  return { biobank: values.biobank, dryRun: values['dry-run'], lang: values.lang as Lang, file }
}

/** A first guess at the number of rows, from the size of the file and the length of its first lines. */
function estimateRows(file: string): number {
  const size = fs.statSync(file).size
  const head = Buffer.alloc(Math.min(size, 64 * 1024))
  const fd = fs.openSync(file, 'r')
  try {
    fs.readSync(fd, head, 0, head.length, 0)
  } finally {
    fs.closeSync(fd)
  }
  let lines = 0
  for (const byte of head) if (byte === 10) lines++
  return lines === 0 ? 1 : Math.max(1, Math.round((size / head.length) * lines) - 1)
}

function translator(lang: Lang): TFunction {
  const instance = i18next.createInstance()
  void instance.init({ initAsync: false, lng: lang, resources: { [lang]: { translation: readTranslations(lang) } }, interpolation: { escapeValue: false } })
  return instance.getFixedT(lang)
}

function report(result: ImportResult, t: TFunction, lang: Lang): number {
  const n = (value: number) => value.toLocaleString(lang === 'da' ? 'da-DK' : 'en-GB')
  if (result.issueCount === 0) {
    console.log(
      result.committed
        ? t('staffImport.cli.imported', { fresh: n(result.newSamples), existing: n(result.existingSamples), donors: n(result.newDonors), biobank: result.biobankCode })
        : t('staffImport.cli.checked', { fresh: n(result.newSamples), existing: n(result.existingSamples) }),
    )
    return 0
  }
  for (const issue of result.issues) {
    const message = issueMessage(issue, t, lang)
    console.error(issue.row === null ? message : t('staffImport.cli.issue', { row: issue.row, column: issue.column ?? t('staffImport.cli.wholeRow'), message }))
  }
  if (result.issues.length < result.issueCount) console.error(t('staffImport.cli.truncated', { shown: n(result.issues.length), total: n(result.issueCount) }))
  console.error(result.badRows > 0 ? t('staffImport.cli.rejected', { issues: n(result.issueCount), rows: n(result.badRows) }) : t('staffImport.cli.fileRejected'))
  return 1
}

let args: ReturnType<typeof parseArguments>
try {
  args = parseArguments()
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`import: ${error.message}\n\n${USAGE}`)
  process.exit(2)
}

const phaseNames: Record<ImportPhase, string> = {
  queued: 'queued',
  waiting: 'waiting for lock',
  reading: 'reading',
  checking: 'checking',
  writing: 'writing',
  done: 'done',
}

try {
  const config = loadConfigFromEnvironment()
  // Log lines go to stderr with the progress; stdout carries only the summary.
  const runtime = await bootstrap(config, createLogger(config.logLevel, process.stderr))
  const t = translator(args.lang)
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{phase} |{bar}| {value}/{total} rows | {duration_formatted}',
      hideCursor: true,
      fps: 5,
      noTTYOutput: true,
      notTTYSchedule: 5000,
    },
    cliProgress.Presets.shades_classic,
  )
  let estimate = estimateRows(args.file)
  bar.start(estimate, 0, { phase: phaseNames.reading.padEnd(16) })
  let code = 1
  try {
    const result = await runtime.services.imports.importFromCommandLine({
      path: args.file,
      fileName: path.basename(args.file),
      dryRun: args.dryRun,
      biobankCode: args.biobank,
      maxIssues: MAX_ISSUES,
      onProgress: (progress) => {
        if (progress.rowsRead > estimate) {
          estimate = progress.rowsRead
          bar.setTotal(estimate)
        }
        if (progress.phase !== 'reading') bar.setTotal(Math.max(progress.rowsRead, 1))
        bar.update(progress.rowsRead, { phase: phaseNames[progress.phase].padEnd(16) })
      },
    })
    bar.stop()
    code = report(result, t, args.lang)
  } catch (error) {
    bar.stop()
    if (!(error instanceof UnknownBiobankError)) throw error
    console.error(`import: no biobank ${args.biobank}`)
    code = 2
  } finally {
    await runtime.shutdown()
  }
  process.exit(code)
} catch (error) {
  failAndExit(error)
}
