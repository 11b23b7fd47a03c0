// Scenario a: the citizen's "my samples" page (GET /borger/proever) for random signed-in citizens under 50
// concurrent connections, against the real server; floor: the same template rendered from memory by the same
// Express stack (bench/floorServer.ts), under the same load. Target: p99 < 50 ms and ≥ 60 % of the floor's req/s.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AutocannonRequest } from 'autocannon'
import type { CitizenSessionUser } from '../../server/services/authService.ts'
import { createCitizenSessions, deleteBenchSessions, type BenchSession } from '../sessions.ts'
import { assertMostlyOk, load, summarise, type LoadSummary } from '../load.ts'
import { capacityNote, childEnvironment, cpuWindow, describeCpu, freePort, spawnUntilReady, type CpuUse } from '../processes.ts'
import type { FloorPage } from '../floorServer.ts'
import type { BenchContext, ScenarioResult, ServerHandle } from '../types.ts'

const PAGE = '/borger/proever'

function randomCitizenRequests(sessions: BenchSession[]): AutocannonRequest[] {
  return [
    {
      method: 'GET',
      path: PAGE,
      setupRequest: (request) => {
        const session = sessions[Math.floor(Math.random() * sessions.length)]!
        request.headers = { ...request.headers, cookie: session.cookie }
        return request
      },
    },
  ]
}

interface Measured {
  summary: LoadSummary
  rssMb: number
  cpu: CpuUse
}

async function measure(ctx: BenchContext, url: string, requests: AutocannonRequest[] | undefined, server: ServerHandle): Promise<Measured> {
  const { connections, durationSeconds, warmupSeconds } = ctx.load
  if (warmupSeconds > 0) await load({ url, connections, duration: warmupSeconds, requests })
  const window = server.rssWindow()
  const cpu = cpuWindow(server.pid, ctx.config.dataDir)
  // Smoke: a fixed number of requests, so even a slow first render on a busy machine yields responses to check.
  const result = await load({ url, connections, requests, ...(ctx.smoke ? { amount: connections * 2 } : { duration: durationSeconds }) })
  return { summary: summarise(result, 200), cpu: cpu.end(), rssMb: window.end() }
}

/** What the real route renders for each citizen (citizenService.samples), to be rendered again by the floor. */
async function floorPages(ctx: BenchContext, sessions: BenchSession[]): Promise<FloorPage[]> {
  const pages: FloorPage[] = []
  for (let i = 0; i < sessions.length; i += 8) {
    const batch = sessions.slice(i, i + 8)
    pages.push(
      ...(await Promise.all(
        batch.map(async (s) => {
          const user: CitizenSessionUser = { kind: 'citizen', donorId: s.donorId, name: s.name, loa: 'Substantial' }
          const subject = await ctx.services.citizen.resolveSubject(user)
          if (subject === 'childNoLongerAvailable') throw new Error('unexpected custody answer for a bench citizen')
          const result = await ctx.services.citizen.samples(subject, 1)
          return { name: s.name, subject: { donorId: s.donorId, actor: { donorId: s.donorId, name: s.name }, actedBy: 'self' as const }, result }
        }),
      )),
    )
  }
  return pages
}

export async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const citizens = ctx.smoke ? 50 : 1000
  const pool = ctx.services.database.pool
  const donorIds = await ctx.randomDonors(citizens)
  ctx.log(`citizen page: ${citizens} signed-in citizens`)
  const sessions = await createCitizenSessions(pool, ctx.config.secrets.session, donorIds, ctx.config.auth.absoluteMinutes)
  try {
    const pages = await floorPages(ctx, sessions)
    const pagesFile = path.join(ctx.scratchDir, 'citizen-pages.json')
    fs.writeFileSync(pagesFile, JSON.stringify(pages))
    const samplesShown = pages.map((p) => Number((p.result as { total: number }).total))

    // The real server.
    const server = await ctx.server()
    ctx.log(`citizen page: real server, ${ctx.load.connections} connections, ${ctx.load.durationSeconds} s`)
    const real = await measure(ctx, `${server.baseUrl}${PAGE}`, randomCitizenRequests(sessions), server)
    assertMostlyOk(real.summary, 200, 'citizen page (real server)')

    // Under 50 connections that never pause, latency is set by throughput (mean latency = 50 / req/s), so the
    // same page is measured again at half the rate the server just reached: the latency a citizen sees when the
    // server is busy but not saturated.
    let halfLoad: LoadSummary | undefined
    if (!ctx.smoke) {
      const rate = Math.max(1, Math.round(real.summary.okPerSecond / 2))
      ctx.log(`citizen page: real server at ${rate} req/s (half of what it reached)`)
      halfLoad = summarise(await load({ url: `${server.baseUrl}${PAGE}`, connections: ctx.load.connections, duration: ctx.load.durationSeconds, overallRate: rate, requests: randomCitizenRequests(sessions) }), 200)
      assertMostlyOk(halfLoad, 200, 'citizen page at half load')
    }

    // The floor, under the same load.
    const port = await freePort()
    const floorServer = await spawnUntilReady({
      name: 'the citizen-page floor server',
      args: [path.join('bench', 'floorServer.ts'), '--port', String(port), '--data-dir', ctx.config.dataDir, '--pages', pagesFile, ...(ctx.serverMode === 'production' ? ['--view-cache'] : [])],
      env: childEnvironment({ NODE_ENV: 'development' }),
      port,
      readyPath: '/readyz',
    })
    let floor: Measured
    try {
      ctx.log('citizen page: floor (template from memory, same Express stack)')
      floor = await measure(ctx, `${floorServer.baseUrl}${PAGE}`, undefined, floorServer)
      assertMostlyOk(floor.summary, 200, 'citizen page (floor)')
    } finally {
      await floorServer.stop()
    }

    return {
      id: 'citizen-samples',
      title: 'Citizen "my samples" page',
      floor: 'the same template rendered from in-memory data by the same Express stack (helmet, views, locals), same load',
      metrics: [
        { name: 'requests/s', value: real.summary.okPerSecond, unit: 'req/s', better: 'higher', floor: floor.summary.okPerSecond, target: { floorShareAtLeast: 0.6 } },
        { name: 'p99 latency', value: real.summary.p99Ms, unit: 'ms', better: 'lower', floor: floor.summary.p99Ms, target: { below: 50 } },
        { name: 'p50 latency', value: real.summary.p50Ms, unit: 'ms', better: 'lower', floor: floor.summary.p50Ms },
        ...(halfLoad
          ? [
              { name: `p99 at half load (${Math.round(halfLoad.okPerSecond)} req/s)`, value: halfLoad.p99Ms, unit: 'ms', better: 'lower' as const },
              { name: `p50 at half load (${Math.round(halfLoad.okPerSecond)} req/s)`, value: halfLoad.p50Ms, unit: 'ms', better: 'lower' as const },
            ]
          : []),
      ],
      serverRssMaxMb: real.rssMb,
      notes: [
        `${citizens} signed-in citizens with samples (sessions written into the sessions table); each request is a random one of them`,
        ctx.smoke
          ? `${ctx.load.connections} connections, ${ctx.load.connections * 2} requests, for the server and then the floor (smoke)`
          : `${ctx.load.connections} connections, ${ctx.load.durationSeconds} s after ${ctx.load.warmupSeconds} s warm-up, for the server and then the floor`,
        ctx.serverMode === 'production'
          ? 'NODE_ENV=production: templates compiled once (view cache), in the server and in the floor'
          : 'NODE_ENV=development: every render compiles the templates again (no view cache), in the server and in the floor alike',
        `samples on a citizen's page: mean ${mean(samplesShown).toFixed(1)}, max ${Math.max(...samplesShown)}`,
        `floor server RSS max ${floor.rssMb} MB`,
        `server: ${describeCpu(real.cpu, real.summary.requests)}`,
        capacityNote(real.cpu, real.summary.requests, os.availableParallelism()),
        `floor: ${describeCpu(floor.cpu, floor.summary.requests)}`,
      ],
      details: { server: real.summary, halfLoad, floor: floor.summary, floorRssMb: floor.rssMb, citizens, serverCpu: real.cpu, floorCpu: floor.cpu },
    }
  } finally {
    await deleteBenchSessions(pool)
  }
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)
