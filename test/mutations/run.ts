// `npm run test:mutations [-- --only id,id] [--head-only] [--keep] [--no-baseline] [--typecheck] [--list]`
//
// Shows that each check of the security and fault suites can fail: for every mutation of mutations.ts, a fresh git
// worktree of HEAD (plus, unless --head-only, the checkout's uncommitted changes, so a strengthened test counts
// before it is committed), the mutation's edits applied, and its tests run there with `npm run test:file`. The
// tests must fail, with a failing test of the intended check. The unmutated tests run once first and must pass.
//
// Each worktree lives under the system temp folder, links node_modules to this checkout's, and gets its own
// embedded PostgreSQL clusters (.data/test, .data/faults-pg) made from scratch: nothing is shared between runs.
// Worktrees are removed afterwards (their clusters stopped first), on failure too.
//
// Prints a table; after a run of the whole list also writes test/mutations/RESULTS.md (a run of --only writes
// .data/mutations/<run>/RESULTS.md instead). Exits non-zero when the baseline fails or any mutation is not caught.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { execFileSync, spawn } from 'node:child_process'
import ejs from 'ejs'
import ts from 'typescript'
import { MUTATIONS, type Mutation } from './mutations.ts'
import { isAlive, livePostmaster } from '../support/postmaster.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const REPORTER = path.join(import.meta.dirname, 'mutationReporter.cjs')
const RESULTS_FILE = path.join(import.meta.dirname, 'RESULTS.md')
const WORKTREES = path.join(os.tmpdir(), 'biobank-registry-mutations')
const RUN_MINUTES_DEFAULT = 30

// ---------------------------------------------------------------------------------------------------------------
// Options

interface Options {
  only?: string[]
  headOnly: boolean
  keep: boolean
  baseline: boolean
  typecheck: boolean
  list: boolean
  minutes: number
}

function parseOptions(argv: string[]): Options {
  const options: Options = { headOnly: false, keep: false, baseline: true, typecheck: false, list: false, minutes: RUN_MINUTES_DEFAULT }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => {
      const next = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]
      if (next === undefined) throw new Error(`${arg} needs a value`)
      return next
    }
    if (arg.startsWith('--only')) options.only = value().split(',').map((s) => s.trim()).filter(Boolean)
    else if (arg === '--head-only') options.headOnly = true
    else if (arg === '--keep') options.keep = true
    else if (arg === '--no-baseline') options.baseline = false
    else if (arg === '--typecheck') options.typecheck = true
    else if (arg === '--list') options.list = true
    else if (arg.startsWith('--minutes')) options.minutes = Number(value())
    else throw new Error(`unknown argument ${arg} (see the head of test/mutations/run.ts)`)
  }
  if (!(options.minutes > 0)) throw new Error('--minutes must be a positive number')
  return options
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const git = (args: string[], cwd = ROOT) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A loopback port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

const count = (text: string, find: string) => (find === '' ? 0 : text.split(find).length - 1)

function stamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}

// ---------------------------------------------------------------------------------------------------------------
// The list itself: well-formed, and every edit applies exactly once to the tree the worktrees will have

function checkList(mutations: readonly Mutation[], headOnly: boolean): string[] {
  const problems: string[] = []
  const ids = new Set<string>()
  const fileAt = (file: string): string | undefined => {
    try {
      return headOnly ? git(['show', `HEAD:${file}`]) : fs.readFileSync(path.join(ROOT, file), 'utf8')
    } catch {
      return undefined
    }
  }
  for (const m of mutations) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(m.id)) problems.push(`${m.id}: the id must be kebab-case`)
    if (ids.has(m.id)) problems.push(`${m.id}: duplicate id`)
    ids.add(m.id)
    if (m.edits.length === 0) problems.push(`${m.id}: no edits`)
    if (m.tests.length === 0) problems.push(`${m.id}: no tests`)
    for (const test of m.tests) if (fileAt(test) === undefined) problems.push(`${m.id}: test file ${test} does not exist`)
    const contents = new Map<string, string>()
    for (const edit of m.edits) {
      const text = contents.get(edit.file) ?? fileAt(edit.file)
      if (text === undefined) {
        problems.push(`${m.id}: ${edit.file} does not exist`)
        continue
      }
      const n = count(text, edit.find)
      if (n !== 1) {
        problems.push(`${m.id}: ${edit.file}: the find text occurs ${n} times (must be exactly once): ${JSON.stringify(edit.find.slice(0, 120))}`)
        continue
      }
      if (edit.find === edit.replace) problems.push(`${m.id}: ${edit.file}: an edit that changes nothing`)
      contents.set(edit.file, text.replace(edit.find, () => edit.replace))
    }
  }
  return problems
}

/** Syntax errors of the edited files (TypeScript parsed as tsx would, EJS compiled): the failure must be the check's. */
function syntaxProblems(dir: string, files: string[]): string[] {
  const problems: string[] = []
  for (const file of new Set(files)) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8')
    if (file.endsWith('.ts')) {
      const out = ts.transpileModule(text, {
        fileName: file,
        reportDiagnostics: true,
        compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
      })
      for (const d of out.diagnostics ?? []) if (d.category === ts.DiagnosticCategory.Error) problems.push(`${file}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`)
    } else if (file.endsWith('.ejs')) {
      try {
        ejs.compile(text, { filename: path.join(dir, file) })
      } catch (error) {
        problems.push(`${file}: ${(error as Error).message.split('\n')[0]}`)
      }
    }
  }
  return problems
}

// ---------------------------------------------------------------------------------------------------------------
// Worktrees

interface Worktree {
  dir: string
}

function makeWorktree(name: string, options: Options): Worktree {
  fs.mkdirSync(WORKTREES, { recursive: true })
  const dir = path.join(WORKTREES, `${name}-${process.pid}`)
  if (fs.existsSync(dir)) removeWorktree(dir)
  git(['worktree', 'add', '--detach', dir, 'HEAD'])
  try {
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'))
    if (!options.headOnly) overlayLocalChanges(dir)
  } catch (error) {
    removeWorktree(dir)
    throw error
  }
  return { dir }
}

/** The checkout's uncommitted changes: the diff of tracked files, and untracked files that are not ignored. */
function overlayLocalChanges(dir: string): void {
  const patch = git(['diff', 'HEAD', '--binary'])
  if (patch.trim() !== '') {
    const file = path.join(dir, '.git-local-changes.patch')
    fs.writeFileSync(file, patch)
    git(['apply', '--whitespace=nowarn', file], dir)
    fs.rmSync(file)
  }
  const untracked = git(['ls-files', '--others', '--exclude-standard', '-z']).split('\0').filter(Boolean)
  for (const file of untracked) {
    const target = path.join(dir, file)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.cpSync(path.join(ROOT, file), target, { verbatimSymlinks: true })
  }
}

function localChangesSummary(): string {
  const changed = git(['status', '--porcelain']).split('\n').filter(Boolean)
  return changed.length === 0 ? 'none' : `${changed.length} file(s)`
}

/** The PostgreSQL clusters a run made in the worktree (.data/<name>/pg, possibly a link to a staged folder). */
function clustersOf(dir: string): { link: string; real: string }[] {
  const data = path.join(dir, '.data')
  if (!fs.existsSync(data)) return []
  const found: { link: string; real: string }[] = []
  for (const name of fs.readdirSync(data)) {
    const link = path.join(data, name, 'pg')
    try {
      const stat = fs.lstatSync(link)
      found.push({ link, real: stat.isSymbolicLink() ? path.resolve(path.dirname(link), fs.readlinkSync(link)) : link })
    } catch {
      // no cluster in this folder
    }
  }
  return found
}

/** Stops a postmaster still running on one of the worktree's clusters (fast shutdown, then immediate). */
async function stopClusters(dir: string): Promise<void> {
  for (const { real } of clustersOf(dir)) {
    const postmaster = livePostmaster(real)
    // Only a postmaster of this cluster folder, never one that merely took over a stale pid file.
    if (!postmaster || !postmaster.command.includes(real)) continue
    const { pid } = postmaster
    process.kill(pid, 'SIGINT')
    for (let waited = 0; isAlive(pid) && waited < 30_000; waited += 200) await sleep(200)
    if (isAlive(pid)) process.kill(pid, 'SIGQUIT')
    for (let waited = 0; isAlive(pid) && waited < 10_000; waited += 200) await sleep(200)
  }
}

function removeWorktree(dir: string): void {
  // Clusters staged outside the worktree (as root, under /var/lib) go with it.
  for (const { link, real } of clustersOf(dir)) if (real !== link) fs.rmSync(real, { recursive: true, force: true })
  try {
    git(['worktree', 'remove', '--force', '--force', dir])
  } catch {
    // not (or no longer) a registered worktree
  }
  fs.rmSync(dir, { recursive: true, force: true })
  git(['worktree', 'prune'])
}

/** Worktrees left by an earlier run that died (their runner's pid is gone). */
async function removeLeftovers(): Promise<void> {
  if (!fs.existsSync(WORKTREES)) return
  for (const name of fs.readdirSync(WORKTREES)) {
    const pid = Number(/-(\d+)$/.exec(name)?.[1])
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue
    const dir = path.join(WORKTREES, name)
    console.log(`removing the leftover worktree ${dir}`)
    await stopClusters(dir)
    removeWorktree(dir)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Running tests in a worktree

interface TestRecord {
  event: 'pass' | 'fail' | 'end'
  title?: string
  message?: string
}

interface TestRun {
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  passed: string[]
  failed: { title: string; message: string }[]
  ended: boolean
  seconds: number
  log: string
}

let current: { pid: number } | undefined

async function runTests(dir: string, tests: string[], grep: string | undefined, logBase: string, minutes: number): Promise<TestRun> {
  const log = `${logBase}.log`
  const records = `${logBase}.jsonl`
  fs.rmSync(records, { force: true })
  const args = ['run', 'test:file', '--', '--reporter', REPORTER, '--reporter-option', `output=${records}`, ...(grep ? ['--grep', grep] : []), ...tests]
  const out = fs.openSync(log, 'w')
  fs.writeSync(out, `$ (cd ${dir} && npm ${args.map((a) => (/[\s'"*]/.test(a) ? JSON.stringify(a) : a)).join(' ')})\n\n`)
  const started = Date.now()
  // The test cluster on a port of its own: the default (54330) is the one every other checkout's tests try first.
  const env = { ...process.env, FORCE_COLOR: '0', TEST_PG_PORT: String(await freePort()) }
  // Its own process group, so a run that hangs can be ended whole (the test servers and clusters it started).
  const child = spawn('npm', args, { cwd: dir, detached: true, stdio: ['ignore', out, out], env })
  current = { pid: child.pid! }
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }, minutes * 60_000)
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, sig) => resolve([code, sig])))
  clearTimeout(timer)
  current = undefined
  fs.closeSync(out)
  const lines: TestRecord[] = fs.existsSync(records)
    ? fs
        .readFileSync(records, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as TestRecord)
    : []
  return {
    exitCode,
    signal,
    timedOut,
    passed: lines.filter((r) => r.event === 'pass').map((r) => r.title!),
    failed: lines.filter((r) => r.event === 'fail').map((r) => ({ title: r.title!, message: r.message ?? '' })),
    ended: lines.some((r) => r.event === 'end'),
    seconds: Math.round((Date.now() - started) / 1000),
    log,
  }
}

const isHook = (title: string) => /"(before|after) (all|each)" hook/.test(title)

// ---------------------------------------------------------------------------------------------------------------
// Outcomes

type Status = 'caught' | 'survived' | 'broke otherwise' | 'did not apply'

interface Outcome {
  mutation: Mutation
  status: Status
  /** The first failing test of the intended check (caught), or what went wrong. */
  detail: string
  message?: string
  at: Date
  seconds: number
  log?: string
}

function judge(mutation: Mutation, run: TestRun): Pick<Outcome, 'status' | 'detail' | 'message'> {
  if (run.timedOut) return { status: 'broke otherwise', detail: `no result within the time limit (see ${run.log})` }
  const intended = run.failed.filter((f) => !isHook(f.title) && mutation.expect.test(f.title))
  if (run.exitCode !== 0 && intended.length > 0) return { status: 'caught', detail: intended[0]!.title, message: intended[0]!.message }
  if (run.exitCode === 0 && run.failed.length === 0 && run.passed.length > 0) return { status: 'survived', detail: `${run.passed.length} test(s) still pass` }
  if (run.failed.length > 0) {
    return { status: 'broke otherwise', detail: `failed, but not the intended check: ${run.failed.map((f) => f.title).join(' | ')}`, message: run.failed[0]!.message }
  }
  return { status: 'broke otherwise', detail: `exit ${run.exitCode ?? run.signal} without a failing test (see ${run.log})` }
}

function firstLine(text: string | undefined, max = 160): string {
  const line = (text ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? ''
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function printTable(outcomes: Outcome[]): void {
  const rows = outcomes.map((o) => [o.mutation.id, o.status, `${o.seconds}s`, o.detail])
  const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['mutation', 'result', 'time'][i]!.length))
  const line = (r: string[]) => `${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]!.padStart(width[2]!)}  ${r[3]}`
  console.log(`\n${line(['mutation', 'result', 'time', 'failing test of the check'])}`)
  console.log(line(width.map((w) => '-'.repeat(w)).concat('-'.repeat(40))))
  for (const r of rows) console.log(line(r))
}

function resultsMarkdown(outcomes: Outcome[], meta: { head: string; local: string; baseline: string; started: Date }): string {
  const caught = outcomes.filter((o) => o.status === 'caught').length
  const lines = [
    '# Each check seen to fail: mutation results',
    '',
    'Written by `npm run test:mutations` (test/mutations/run.ts). Each mutation of test/mutations/mutations.ts is a',
    'deliberate, realistic breakage of the app, applied on its own to a fresh worktree; the tests named for it are run',
    'there and must fail, with a failing test of the intended check. "Failing test" is the first such test (mocha',
    'full title) and the first line of its assertion message.',
    '',
    `- Run: ${stamp(meta.started)}, commit ${meta.head.slice(0, 12)}, uncommitted changes of the checkout included: ${meta.local}`,
    `- Baseline (the same test files, unmutated): ${meta.baseline}`,
    `- Result: ${caught} of ${outcomes.length} mutations caught`,
    '',
    '| Mutation | What was broken | Check that should trip | Result | Failing test (first line of its message) | Date |',
    '|---|---|---|---|---|---|',
  ]
  for (const o of outcomes) {
    const failing = o.status === 'caught' ? `${o.detail} — ${firstLine(o.message, 260)}` : o.detail
    lines.push(`| \`${o.mutation.id}\` | ${cell(o.mutation.description)} | ${cell(o.mutation.check)} | **${o.status}** | ${cell(failing)} | ${stamp(o.at).slice(0, 10)} |`)
  }
  const survivors = outcomes.filter((o) => o.status !== 'caught')
  if (survivors.length > 0) {
    lines.push('', '## Not caught', '')
    for (const o of survivors) {
      lines.push(`- \`${o.mutation.id}\` (${o.status}): ran ${o.mutation.tests.join(', ')}${o.mutation.grep ? ` --grep ${JSON.stringify(o.mutation.grep)}` : ''}. ${o.detail}`)
    }
  }
  return `${lines.join('\n')}\n`
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  if (options.list) {
    for (const m of MUTATIONS) console.log(`${m.id.padEnd(44)} ${m.tests.join(' ')}${m.grep ? ` --grep ${JSON.stringify(m.grep)}` : ''}`)
    return 0
  }
  const unknown = (options.only ?? []).filter((id) => !MUTATIONS.some((m) => m.id === id))
  if (unknown.length > 0) throw new Error(`no such mutation: ${unknown.join(', ')} (see --list)`)
  const selected = options.only ? MUTATIONS.filter((m) => options.only!.includes(m.id)) : MUTATIONS
  const problems = checkList(selected, options.headOnly)
  if (problems.length > 0) {
    console.error(`test/mutations/mutations.ts does not apply to this tree:\n  ${problems.join('\n  ')}`)
    return 2
  }

  const started = new Date()
  const head = git(['rev-parse', 'HEAD']).trim()
  const local = options.headOnly ? 'no (--head-only)' : localChangesSummary()
  const runDir = path.join(ROOT, '.data', 'mutations', stamp(started).replace(/[:]/g, ''))
  fs.mkdirSync(runDir, { recursive: true })
  console.log(`mutation run: ${selected.length} mutation(s), commit ${head.slice(0, 12)}, uncommitted changes: ${local}; logs in ${path.relative(ROOT, runDir)}`)
  await removeLeftovers()

  const created: string[] = []
  const interrupted = () => {
    if (current) {
      try {
        process.kill(-current.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    void (async () => {
      for (const dir of created) {
        await stopClusters(dir).catch(() => undefined)
        removeWorktree(dir)
      }
      process.exit(130)
    })()
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)

  async function inWorktree<T>(name: string, work: (tree: Worktree) => Promise<T>): Promise<T> {
    const tree = makeWorktree(name, options)
    created.push(tree.dir)
    try {
      return await work(tree)
    } finally {
      await stopClusters(tree.dir).catch((error: unknown) => console.error(`could not stop the clusters of ${tree.dir}: ${String(error)}`))
      if (options.keep) console.log(`  kept ${tree.dir}`)
      else {
        removeWorktree(tree.dir)
        created.splice(created.indexOf(tree.dir), 1)
      }
    }
  }

  // The unmutated tests first: a mutation only means something against tests that pass.
  let baseline = 'not run (--no-baseline)'
  if (options.baseline) {
    const files = [...new Set(selected.flatMap((m) => m.tests))]
    console.log(`\nbaseline: ${files.length} test file(s), unmutated`)
    const run = await inWorktree('baseline', async (tree) => {
      const first = await runTests(tree.dir, files, undefined, path.join(runDir, 'baseline'), options.minutes)
      if (first.exitCode === 0 && first.failed.length === 0) return first
      // Once more before giving up: a busy machine can fail a start-up that has nothing to do with the tests.
      console.log(`  ${first.failed.length} failure(s) (exit ${first.exitCode ?? first.signal}); running it once more`)
      await stopClusters(tree.dir)
      return runTests(tree.dir, files, undefined, path.join(runDir, 'baseline.retry'), options.minutes)
    })
    baseline = `${run.passed.length} tests passed, ${run.failed.length} failed, in ${files.length} files (${run.seconds}s)`
    console.log(`  ${baseline}`)
    if (run.exitCode !== 0 || run.failed.length > 0 || run.passed.length === 0) {
      for (const f of run.failed) console.error(`  FAILED: ${f.title}\n    ${firstLine(f.message, 400)}`)
      console.error(`the baseline does not pass (exit ${run.exitCode ?? run.signal}); see ${run.log}. No mutation was run.`)
      return 1
    }
    // Every mutation must name tests that exist: its grep and its expected title match a test that passed here.
    const aimless = selected.filter((m) => !run.passed.some((title) => (!m.grep || new RegExp(m.grep).test(title)) && m.expect.test(title)))
    if (aimless.length > 0) {
      console.error(`no passing test matches the grep and expect of: ${aimless.map((m) => m.id).join(', ')} (see ${run.log}). No mutation was run.`)
      return 2
    }
  }

  const outcomes: Outcome[] = []
  for (const [index, mutation] of selected.entries()) {
    console.log(`\n[${index + 1}/${selected.length}] ${mutation.id}: ${mutation.description}`)
    const at = new Date()
    const outcome = await inWorktree(mutation.id, async (tree): Promise<Outcome> => {
      for (const edit of mutation.edits) {
        const file = path.join(tree.dir, edit.file)
        const text = fs.readFileSync(file, 'utf8')
        if (count(text, edit.find) !== 1) return { mutation, status: 'did not apply', detail: `${edit.file}: the find text does not occur exactly once`, at, seconds: 0 }
        fs.writeFileSync(file, text.replace(edit.find, () => edit.replace))
      }
      const syntax = syntaxProblems(tree.dir, mutation.edits.map((e) => e.file))
      if (syntax.length > 0) return { mutation, status: 'did not apply', detail: `does not compile: ${syntax.join('; ')}`, at, seconds: 0 }
      if (options.typecheck) {
        try {
          execFileSync(path.join(tree.dir, 'node_modules', '.bin', 'tsc'), ['-p', '.', '--noEmit'], { cwd: tree.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        } catch (error) {
          return { mutation, status: 'did not apply', detail: `does not type-check: ${firstLine((error as { stdout?: string }).stdout, 400)}`, at, seconds: 0 }
        }
      }
      const run = await runTests(tree.dir, mutation.tests, mutation.grep, path.join(runDir, mutation.id), options.minutes)
      const verdict = judge(mutation, run)
      if (verdict.status !== 'broke otherwise' || run.timedOut) return { mutation, ...verdict, at, seconds: run.seconds, log: run.log }
      // Something else failed (a cluster that would not start on a busy machine, a port taken meanwhile): once more.
      console.log(`  ${verdict.detail}; running it once more`)
      await stopClusters(tree.dir)
      const again = await runTests(tree.dir, mutation.tests, mutation.grep, path.join(runDir, `${mutation.id}.retry`), options.minutes)
      const second = judge(mutation, again)
      return { mutation, ...second, detail: `${second.detail} (second run)`, at, seconds: run.seconds + again.seconds, log: again.log }
    })
    outcomes.push(outcome)
    console.log(`  ${outcome.status}${outcome.status === 'caught' ? ` by: ${outcome.detail}\n    ${firstLine(outcome.message, 300)}` : `: ${outcome.detail}`}`)
  }

  printTable(outcomes)
  const markdown = resultsMarkdown(outcomes, { head, local, baseline, started })
  const target = options.only ? path.join(runDir, 'RESULTS.md') : RESULTS_FILE
  fs.writeFileSync(target, markdown)
  const failures = outcomes.filter((o) => o.status !== 'caught')
  console.log(`\n${outcomes.length - failures.length} of ${outcomes.length} caught; results in ${path.relative(ROOT, target)}`)
  if (failures.length > 0) console.error(`not caught: ${failures.map((o) => `${o.mutation.id} (${o.status})`).join(', ')}`)
  return failures.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(2)
  },
)
