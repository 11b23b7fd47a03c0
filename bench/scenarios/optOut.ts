// Scenario b: durable opt-out changes with their receipt. 50 connections, each its own signed-in citizen, POST
// /borger/fravalg through the real server; every request flips the citizen's genetic choice with a fresh formToken
// and the session's CSRF token. Only a 303 to a receipt counts as a change. Afterwards the database must hold one
// opt_out_events row per receipt counted, and every receipt's row (no lost change). Target: ≥ 1,000 changes/s.
// Floor: what the machine's PostgreSQL can commit durably (one-row INSERT + COMMIT) from as many connections.
import crypto from 'node:crypto'
import os from 'node:os'
import pg from 'pg'
import type { AutocannonRequest } from 'autocannon'
import { createCitizenSessions, deleteBenchSessions, type BenchSession } from '../sessions.ts'
import { load, summarise } from '../load.ts'
import { capacityNote, cpuWindow, describeCpu } from '../processes.ts'
import type { BenchContext, ScenarioResult } from '../types.ts'

const RECEIPT_PATH = '/borger/fravalg/kvittering/'
const UNCHANGED_PATH = '/borger/fravalg?besked=uaendret'

interface Tally {
  receipts: number
  unchanged: number
  other: Record<string, number>
  references: string[]
}

const newTally = (): Tally => ({ receipts: 0, unchanged: 0, other: {}, references: [] })

function headerValue(headers: Record<string, string | string[]>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value
  return undefined
}

/**
 * One long request list: autocannon keeps a connection's context until its request list wraps around, so each
 * connection keeps its citizen for the whole run. A connection takes the next citizen on its first request.
 */
function optOutRequests(sessions: BenchSession[], genetic: Map<number, boolean>, tally: () => Tally, length: number): AutocannonRequest[] {
  let next = 0
  const request: AutocannonRequest = {
    method: 'POST',
    path: '/borger/fravalg',
    setupRequest: (req, context) => {
      if (typeof context.session !== 'number') context.session = next++ % sessions.length
      const session = sessions[context.session as number]!
      const optOut = !genetic.get(session.donorId)
      context.optOut = optOut
      req.headers = { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' }
      req.body = new URLSearchParams({ _csrf: session.csrfToken, choice: 'genetic', optOut: optOut ? 'yes' : 'no', formToken: crypto.randomUUID() }).toString()
      return req
    },
    onResponse: (status, _body, context, headers) => {
      const t = tally()
      const session = sessions[context.session as number]!
      const location = headerValue(headers, 'location') ?? ''
      if (status === 303 && location.startsWith(RECEIPT_PATH)) {
        t.receipts += 1
        t.references.push(location.slice(RECEIPT_PATH.length))
        genetic.set(session.donorId, context.optOut as boolean)
      } else if (status === 303 && location === UNCHANGED_PATH) {
        // The choice already had this value: follow the database.
        t.unchanged += 1
        genetic.set(session.donorId, context.optOut as boolean)
      } else {
        const key = `${status}${location ? ` → ${location.split('?')[0]}` : ''}`
        t.other[key] = (t.other[key] ?? 0) + 1
      }
    },
  }
  return Array.from({ length }, () => ({ ...request }))
}

/** Durable one-row commits per second from `connections` connections for `seconds` (the floor). */
async function durableCommitFloor(ctx: BenchContext, connections: number, seconds: number): Promise<{ perSecond: number; commits: number }> {
  const { host, port, database, username, password } = ctx.services.database.sequelize.config
  const pool = new pg.Pool({ host, port: Number(port), database, user: username, password: password ?? undefined, max: connections })
  try {
    await pool.query('create table if not exists bench_commit_floor (id bigint generated always as identity primary key, donor_id bigint not null, at timestamptz not null default now())')
    const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()))
    let commits = 0
    const started = Date.now()
    const deadline = started + seconds * 1000
    await Promise.all(
      clients.map(async (client, n) => {
        try {
          while (Date.now() < deadline) {
            await client.query('insert into bench_commit_floor (donor_id) values ($1)', [n])
            commits += 1
          }
        } finally {
          client.release()
        }
      }),
    )
    const elapsed = (Date.now() - started) / 1000
    await pool.query('truncate bench_commit_floor')
    return { perSecond: Math.round((commits / elapsed) * 10) / 10, commits }
  } finally {
    await pool.end()
  }
}

export async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const { connections, durationSeconds, warmupSeconds } = ctx.load
  const pool = ctx.services.database.pool
  const settings = Object.fromEntries(
    await Promise.all(
      ['synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'full_page_writes'].map(async (name) => {
        const { rows } = await pool.query<Record<string, string>>(`show ${name}`)
        return [name, Object.values(rows[0]!)[0]!] as const
      }),
    ),
  )
  if (settings.synchronous_commit !== 'on') ctx.log(`opt-out: WARNING synchronous_commit is ${settings.synchronous_commit}, changes are not durable`)

  // Twice as many citizens as connections, so a connection whose request list wraps around never shares one.
  const donorIds = await ctx.randomDonors(connections * 2)
  const sessions = await createCitizenSessions(pool, ctx.config.secrets.session, donorIds, ctx.config.auth.absoluteMinutes)
  const { rows: states } = await pool.query<{ donor_id: number; genetic: boolean }>('select donor_id, genetic from opt_outs where donor_id = any($1::bigint[])', [donorIds])
  const genetic = new Map<number, boolean>(donorIds.map((id) => [id, false]))
  for (const row of states) genetic.set(Number(row.donor_id), row.genetic)
  const countRows = async () =>
    Number((await pool.query<{ n: number }>('select count(*)::int as n from opt_out_events where donor_id = any($1::bigint[])', [donorIds])).rows[0]!.n)

  try {
    const server = await ctx.server()
    const url = `${server.baseUrl}/borger/fravalg`
    let tally = newTally()

    // Warm-up by time; it also tells how many requests the measured run needs to last about `durationSeconds`.
    let amount = connections * 4
    if (warmupSeconds > 0) {
      const warm = await load({ url, connections, duration: warmupSeconds, requests: optOutRequests(sessions, genetic, () => tally, 100_000) })
      amount = Math.max(connections * 20, Math.round((tally.receipts / Math.max(warm.duration, 0.1)) * durationSeconds))
    }

    // Requests the warm-up left in flight may still commit: wait until the row count stands still.
    for (let last = -1, now = await countRows(); now !== last; ) {
      await new Promise((resolve) => setTimeout(resolve, 300))
      last = now
      now = await countRows()
    }

    // The measured run is by count, not time: autocannon then waits for every response, so each change the server
    // committed has been seen by the bench and the row count must match the receipts exactly.
    tally = newTally()
    const before = await countRows()
    ctx.log(`opt-out: ${amount.toLocaleString('en')} changes over ${connections} connections`)
    const window = server.rssWindow()
    const cpuMeter = cpuWindow(server.pid, ctx.config.dataDir)
    const result = await load({ url, connections, amount, requests: optOutRequests(sessions, genetic, () => tally, Math.ceil(amount / connections) * 2 + 10) })
    const rssMb = window.end()
    const cpu = cpuMeter.end()
    const summary = summarise(result, 303)
    const after = await countRows()
    const added = after - before
    const unique = new Set(tally.references)
    const { rows: found } = await pool.query<{ n: number }>(
      'select count(*)::int as n from opt_out_events where receipt_reference = any($1::text[]) and donor_id = any($2::bigint[])',
      [[...unique], donorIds],
    )
    const lost = unique.size - Number(found[0]!.n) + (tally.references.length - unique.size)
    if (tally.receipts === 0) throw new Error(`opt-out: no change got a receipt (other answers: ${JSON.stringify(tally.other)}, errors ${summary.errors})`)
    const changesPerSecond = Math.round((tally.receipts / summary.seconds) * 10) / 10

    ctx.log('opt-out: floor (durable one-row commits)')
    const floorCpuMeter = cpuWindow(server.pid, ctx.config.dataDir)
    const floor = await durableCommitFloor(ctx, connections, ctx.smoke ? 1 : durationSeconds)
    const floorCpu = floorCpuMeter.end()

    return {
      id: 'opt-out',
      title: 'Opt-out change with receipt (durable)',
      floor: `one-row INSERT + COMMIT from ${connections} PostgreSQL connections, as fast as they go (the machine's durable commit rate)`,
      metrics: [
        { name: 'changes/s', value: changesPerSecond, unit: 'changes/s', better: 'higher', floor: floor.perSecond, target: { atLeast: 1000 } },
        { name: 'p50 latency', value: summary.p50Ms, unit: 'ms', better: 'lower' },
        { name: 'p99 latency', value: summary.p99Ms, unit: 'ms', better: 'lower' },
        { name: 'receipts without their row', value: lost, unit: 'changes', better: 'lower', target: { below: 1 } },
        { name: 'rows added ≠ receipts', value: Math.abs(added - tally.receipts), unit: 'rows', better: 'lower', target: { below: 1 } },
      ],
      serverRssMaxMb: rssMb,
      notes: [
        `synchronous_commit = ${settings.synchronous_commit}, fsync = ${settings.fsync}, wal_sync_method = ${settings.wal_sync_method}, commit_delay = ${settings.commit_delay}`,
        `${tally.receipts.toLocaleString('en')} receipts in ${summary.seconds} s; ${added.toLocaleString('en')} opt_out_events rows added; every receipt's reference ${lost === 0 ? 'found' : `checked: ${lost} missing`} in the database`,
        `${connections} connections, each its own citizen; each request flips the genetic choice with a fresh formToken` +
          (warmupSeconds > 0 ? `; ${warmupSeconds} s warm-up, then ${amount.toLocaleString('en')} requests` : `; ${amount} requests`),
        ...(tally.unchanged > 0 || Object.keys(tally.other).length > 0 ? [`other answers: ${tally.unchanged} unchanged, ${JSON.stringify(tally.other)}`] : []),
        `floor: ${floor.commits.toLocaleString('en')} commits; PostgreSQL ${((floorCpu.postgresCpuSeconds * 1000) / Math.max(floor.commits, 1)).toFixed(2)} ms CPU per commit`,
        describeCpu(cpu, summary.requests, 'change request'),
        capacityNote(cpu, summary.requests, os.availableParallelism(), 'changes'),
      ],
      details: { summary, receipts: tally.receipts, unchanged: tally.unchanged, other: tally.other, rowsAdded: added, lost, amount, settings, floor, cpu, floorCpu },
    }
  } finally {
    await deleteBenchSessions(pool)
  }
}
