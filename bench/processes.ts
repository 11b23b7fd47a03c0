// Child processes of the bench: the real server (`node --import tsx server/index.ts`), the floors' minimal servers,
// and their memory (VmRSS from /proc/<pid>/status, sampled every 200 ms).
import fs from 'node:fs'
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { projectRoot } from '../server/config.ts'
import { tryLoopbackPort } from '../server/db/embeddedPostgres.ts'
import type { ServerHandle } from './types.ts'

/**
 * Every setting a child could pick up from the shell or from `.env` that would point it elsewhere: set to '' (which
 * loadConfig reads as unset, and which dotenv does not override), so the child sees only what the bench gives it.
 */
const NEUTRALISED = [
  'DATABASE_URL',
  'BASE_URL',
  'HOST',
  'TRUST_PROXY',
  'SESSION_SECRET',
  'CPR_HMAC_KEY',
  'CPR_ENCRYPTION_KEY',
  'CITIZEN_OIDC_ISSUER',
  'CITIZEN_OIDC_CLIENT_ID',
  'CITIZEN_OIDC_CLIENT_SECRET',
  'CITIZEN_OIDC_REDIRECT_URI',
  'STAFF_OIDC_ISSUER',
  'STAFF_OIDC_CLIENT_ID',
  'STAFF_OIDC_CLIENT_SECRET',
  'STAFF_OIDC_REDIRECT_URI',
  'SESSION_IDLE_MINUTES_CITIZEN',
  'SESSION_IDLE_MINUTES_STAFF',
  'SESSION_ABSOLUTE_MINUTES',
  'DATABASE_POOL_MAX',
]

export function childEnvironment(own: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...Object.fromEntries(NEUTRALISED.map((name) => [name, ''])), ...own }
}

/** Peak-resident memory now, in MB; undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** Samples a process's RSS every 200 ms for its whole life; windows read the peak between two moments. */
export class RssSampler {
  private readonly samples: { at: number; mb: number }[] = []
  private readonly timer: NodeJS.Timeout

  constructor(private readonly pid: number) {
    this.sample()
    this.timer = setInterval(() => this.sample(), 200)
    this.timer.unref()
  }

  private sample(): void {
    const mb = rssMb(this.pid)
    if (mb !== undefined) this.samples.push({ at: Date.now(), mb })
    // Keep an hour at most (18,000 samples).
    if (this.samples.length > 18_000) this.samples.splice(0, this.samples.length - 18_000)
  }

  window(): { end(): number } {
    const from = Date.now()
    return {
      end: () => {
        this.sample()
        const to = Date.now()
        const inWindow = this.samples.filter((s) => s.at >= from - 200 && s.at <= to).map((s) => s.mb)
        return round1(inWindow.length > 0 ? Math.max(...inWindow) : 0)
      },
    }
  }

  peak(): number {
    return round1(Math.max(0, ...this.samples.map((s) => s.mb)))
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10

export async function freePort(): Promise<number> {
  const port = await tryLoopbackPort(0)
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1')
  return port
}

/** The last lines a child wrote, for an error message when it fails. */
function tail(lines: string[]): string {
  return lines.slice(-15).join('\n')
}

export interface SpawnedProcess extends ServerHandle {
  child: ChildProcess
  output: string[]
}

export interface SpawnOptions {
  /** Node arguments after `--import tsx`: the script and its arguments (relative to the project root). */
  args: string[]
  env: NodeJS.ProcessEnv
  port: number
  /** Path polled until it answers 200. */
  readyPath: string
  timeoutMs?: number
  /** Name for error messages. */
  name: string
  /** Node options before `--import tsx` (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[]
}

/** Spawns `node --import tsx <args>` in the project root and waits until `readyPath` answers 200. */
export async function spawnUntilReady(options: SpawnOptions): Promise<SpawnedProcess> {
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', ...options.args], {
    cwd: projectRoot,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const collect = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    if (output.length > 200) output.splice(0, output.length - 200)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal }
      resolve()
    })
  })
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn node`)
  const pid = child.pid
  const sampler = new RssSampler(pid)
  const baseUrl = `http://127.0.0.1:${options.port}`
  const deadline = Date.now() + (options.timeoutMs ?? 90_000)

  const stop = async () => {
    sampler.stop()
    if (exited) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exit
    clearTimeout(killer)
  }

  for (;;) {
    if (exited) {
      sampler.stop()
      throw new Error(`${options.name} exited (code ${exited.code}, signal ${exited.signal}) before it was ready:\n${tail(output)}`)
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${options.name} was not ready within ${(options.timeoutMs ?? 90_000) / 1000} s:\n${tail(output)}`)
    }
    try {
      const response = await fetch(`${baseUrl}${options.readyPath}`, { signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const readyMs = Number(process.hrtime.bigint() - started) / 1e6

  return {
    pid,
    child,
    output,
    baseUrl,
    readyMs,
    rssWindow: () => sampler.window(),
    rssPeakMb: () => sampler.peak(),
    stop,
  }
}

export interface RealServerOptions {
  dataDir: string
  pgPort: number
  /**
   * development: as the brief runs it (the embedded cluster found or started by the server; templates compiled on
   * every render). production: the production configuration (view cache, no development OpenID provider) against
   * the running bench cluster through DATABASE_URL; needs `production`.
   */
  nodeEnv: 'development' | 'production'
  production?: {
    databaseUrl: string
    sessionSecret: string
    cprHmacKey: Buffer
    cprEncryptionKey: Buffer
  }
  poolMax?: number
  env?: Record<string, string>
  nodeArgs?: string[]
}

/** The real server on the bench data folder, as `npm start` runs it (without npm in between). */
export async function startRealServer(options: RealServerOptions): Promise<SpawnedProcess> {
  const port = await freePort()
  let modeEnv: Record<string, string> = {}
  if (options.nodeEnv === 'production') {
    const p = options.production
    if (!p) throw new Error('a production server needs the database URL and secrets')
    // Issuers are never contacted: nobody signs in during the bench (sessions are made directly).
    const unused = 'http://127.0.0.1:9/unused-issuer'
    modeEnv = {
      DATABASE_URL: p.databaseUrl,
      BASE_URL: `http://127.0.0.1:${port}`,
      SESSION_SECRET: p.sessionSecret,
      CPR_HMAC_KEY: p.cprHmacKey.toString('hex'),
      CPR_ENCRYPTION_KEY: p.cprEncryptionKey.toString('hex'),
      CITIZEN_OIDC_ISSUER: unused,
      CITIZEN_OIDC_CLIENT_ID: 'bench',
      CITIZEN_OIDC_CLIENT_SECRET: 'bench',
      STAFF_OIDC_ISSUER: unused,
      STAFF_OIDC_CLIENT_ID: 'bench',
      STAFF_OIDC_CLIENT_SECRET: 'bench',
    }
  }
  return spawnUntilReady({
    name: `the server (${options.nodeEnv})`,
    nodeArgs: options.nodeArgs,
    args: [path.join('server', 'index.ts')],
    port,
    readyPath: '/readyz',
    env: childEnvironment({
      NODE_ENV: options.nodeEnv,
      DATA_DIR: options.dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SEED_DEMO_DATA: 'false',
      EMBEDDED_PG_PORT: String(options.pgPort),
      ...modeEnv,
      ...(options.poolMax ? { DATABASE_POOL_MAX: String(options.poolMax) } : {}),
      ...options.env,
    }),
  })
}

// --- CPU time ---------------------------------------------------------------------------------------------------
// On a shared machine wall-clock figures swing with the neighbours' load; CPU time per request does much less, and
// tells whether the server process, PostgreSQL or neither (waiting: locks, fsync) limits a scenario.

const TICKS_PER_SECOND = 100 // CLK_TCK on Linux

interface ProcStat {
  ppid: number
  /** utime + stime, seconds. */
  own: number
  /** cutime + cstime (children already waited for), seconds. */
  children: number
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces; the fields after it are space-separated (field 3 is the state).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const n = (i: number) => Number(fields[i - 3])
    return { ppid: n(4), own: (n(14) + n(15)) / TICKS_PER_SECOND, children: (n(16) + n(17)) / TICKS_PER_SECOND }
  } catch {
    return undefined
  }
}

/** CPU seconds used so far by a process (itself only). */
export function processCpuSeconds(pid: number): number {
  return procStat(pid)?.own ?? 0
}

/** The postmaster of the cluster in `<dataDir>/pg`, from its postmaster.pid. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0])
  } catch {
    return undefined
  }
}

/**
 * CPU seconds of the whole cluster: the postmaster, its live backends, and the backends that have ended (their time
 * is added to the postmaster's children time when it reaps them), so a difference over a window counts everything.
 */
export function clusterCpuSeconds(dataDir: string): number {
  const postmaster = postmasterPid(dataDir)
  if (!postmaster) return 0
  const root = procStat(postmaster)
  if (!root) return 0
  let total = root.own + root.children
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(Number(entry))
    if (stat?.ppid === postmaster) total += stat.own
  }
  return total
}

export interface CpuUse {
  wallSeconds: number
  serverCpuSeconds: number
  postgresCpuSeconds: number
  benchCpuSeconds: number
  /**
   * Seconds the server's main thread (the event loop) was runnable but waited for a CPU (/proc/<pid>/schedstat):
   * the share of the machine the neighbours took from it.
   */
  serverRunQueueSeconds: number
}

/** [on-CPU, waiting-on-a-runqueue] seconds of a process's main thread. */
function schedstat(pid: number): [number, number] {
  try {
    const [run, wait] = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number)
    return [run! / 1e9, wait! / 1e9]
  } catch {
    return [0, 0]
  }
}

/** Starts measuring CPU time of the server process, the cluster and the bench process itself. */
export function cpuWindow(serverPid: number, dataDir: string): { end(): CpuUse } {
  const started = Date.now()
  const server = processCpuSeconds(serverPid)
  const postgres = clusterCpuSeconds(dataDir)
  const bench = process.cpuUsage()
  const [, waited] = schedstat(serverPid)
  return {
    end: () => {
      const benchUsed = process.cpuUsage(bench)
      const r = (n: number) => Math.round(n * 100) / 100
      return {
        wallSeconds: r((Date.now() - started) / 1000),
        serverCpuSeconds: r(processCpuSeconds(serverPid) - server),
        postgresCpuSeconds: r(clusterCpuSeconds(dataDir) - postgres),
        benchCpuSeconds: r((benchUsed.user + benchUsed.system) / 1e6),
        serverRunQueueSeconds: r(schedstat(serverPid)[1] - waited),
      }
    },
  }
}

/** Milliseconds of CPU per request of the server, PostgreSQL and the load generator. */
export function cpuPerRequest(cpu: CpuUse, requests: number): { serverMs: number; postgresMs: number; loadGeneratorMs: number } {
  const per = (s: number) => Math.round(((s * 1000) / Math.max(requests, 1)) * 100) / 100
  return { serverMs: per(cpu.serverCpuSeconds), postgresMs: per(cpu.postgresCpuSeconds), loadGeneratorMs: per(cpu.benchCpuSeconds) }
}

/** "CPU per request: server 1.9 ms (93 % of a core), PostgreSQL 1.2 ms (…), load generator 0.4 ms (…) …". */
export function describeCpu(cpu: CpuUse, requests: number, what = 'request'): string {
  const per = cpuPerRequest(cpu, requests)
  const share = (s: number) => `${Math.round((s / Math.max(cpu.wallSeconds, 0.01)) * 100)} % of a core`
  return (
    `CPU per ${what}: server ${per.serverMs.toFixed(1)} ms (${share(cpu.serverCpuSeconds)}), PostgreSQL ${per.postgresMs.toFixed(1)} ms (${share(cpu.postgresCpuSeconds)}), ` +
    `load generator ${per.loadGeneratorMs.toFixed(1)} ms (${share(cpu.benchCpuSeconds)}), over ${cpu.wallSeconds} s; ` +
    `the server's event loop waited for a CPU ${Math.round((cpu.serverRunQueueSeconds / Math.max(cpu.wallSeconds, 0.01)) * 100)} % of the time`
  )
}

/**
 * What the CPU time per request allows on `cores` cores with nothing else running: one server process can do at
 * most 1000 / (its ms) a second; server and PostgreSQL together at most cores × 1000 / (their ms).
 */
export function capacityNote(cpu: CpuUse, requests: number, cores: number, what = 'requests'): string {
  const per = cpuPerRequest(cpu, requests)
  const oneProcess = per.serverMs > 0 ? Math.round(1000 / per.serverMs) : Infinity
  const together = per.serverMs + per.postgresMs > 0 ? Math.round((cores * 1000) / (per.serverMs + per.postgresMs)) : Infinity
  return `CPU ceiling without neighbours (from the CPU time per request): one server process ≤ ${oneProcess.toLocaleString('en')} ${what}/s; server processes and PostgreSQL sharing ${cores} cores ≤ ${together.toLocaleString('en')} ${what}/s`
}
