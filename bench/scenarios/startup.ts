// Scenario c: start-up, from spawning the server on the existing bench data folder to the first GET /readyz 200.
// Cold: the embedded cluster is not running, so the server starts it (what `npm start` does after a reboot); target
// under 5 s. Warm: the cluster already runs (a second app process, a restart of the app alone). Floor: a process of
// the same kind (node + tsx + config + the embedded cluster + one connection) that answers /readyz and nothing else.
import path from 'node:path'
import { childEnvironment, freePort, spawnUntilReady } from '../processes.ts'
import type { BenchContext, ScenarioResult } from '../types.ts'

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const seconds = (ms: number) => Math.round(ms) / 1000

async function floorStart(ctx: BenchContext): Promise<number> {
  const port = await freePort()
  const floor = await spawnUntilReady({
    name: 'the start-up floor',
    args: [path.join('bench', 'floorStartup.ts'), '--port', String(port), '--data-dir', ctx.config.dataDir, '--pg-port', String(ctx.database.port)],
    env: childEnvironment({}),
    port,
    readyPath: '/readyz',
  })
  await floor.stop()
  return floor.readyMs
}

export async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const repeats = ctx.smoke ? 1 : 3
  const notes: string[] = []

  // Cold: stop the cluster; the server starts it (and stops it again when it is stopped).
  await ctx.database.stop()
  const cold = ctx.database.clusterRunning() === false
  if (!cold) notes.push('the cluster was started by another process and could not be stopped: the "cold" start found it running')
  ctx.log('start-up: cold (the server starts the embedded cluster)')
  let coldMs: number
  let coldFloorMs: number
  let rssMb: number
  try {
    const server = await ctx.startServer({ nodeEnv: 'development' })
    coldMs = server.readyMs
    rssMb = server.rssPeakMb()
    await server.stop()
    coldFloorMs = await floorStart(ctx)
  } finally {
    await ctx.database.start()
  }

  ctx.log(`start-up: warm (cluster running), ${repeats}×`)
  const warm: number[] = []
  const warmFloor: number[] = []
  for (let i = 0; i < repeats; i++) {
    warmFloor.push(await floorStart(ctx))
    // The last warm start is the shared server the next scenarios use (one start fewer per run).
    const last = i === repeats - 1
    const server = last ? await ctx.server() : await ctx.startServer()
    warm.push(server.readyMs)
    rssMb = Math.max(rssMb, server.rssPeakMb())
    if (!last) await server.stop()
  }

  return {
    id: 'startup',
    title: 'Start-up to /readyz 200',
    floor: 'node + tsx + configuration + embedded cluster + one connection answering /readyz (bench/floorStartup.ts)',
    metrics: [
      { name: 'cold start', value: seconds(coldMs), unit: 's', better: 'lower', floor: seconds(coldFloorMs), target: { below: 5 } },
      { name: 'warm start (median)', value: seconds(median(warm)), unit: 's', better: 'lower', floor: seconds(median(warmFloor)) },
    ],
    serverRssMaxMb: rssMb,
    notes: [
      ...notes,
      'from spawning `node --import tsx server/index.ts` (no npm in between) to the first 200 of GET /readyz, polled every 25 ms',
      `cold: the embedded cluster was stopped and the server (NODE_ENV=development, the mode that starts the embedded cluster) started it; warm: NODE_ENV=${ctx.serverMode}, cluster running, median of ${repeats}`,
      `warm runs: ${warm.map((ms) => seconds(ms)).join(', ')} s; floor: ${warmFloor.map((ms) => seconds(ms)).join(', ')} s`,
    ],
    details: { coldMs, coldFloorMs, warmMs: warm, warmFloorMs: warmFloor, cold },
  }
}
