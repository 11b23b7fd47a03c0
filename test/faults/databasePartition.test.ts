// Fault (issue 8), the harder kind of "database unreachable": the network to PostgreSQL is cut without anything
// being closed or refused (a partition, a dead firewall, a hung host). Connections simply stop answering. Pages must
// still answer, with 503 and the Danish explanation, instead of hanging; /readyz must say 503; and when the network
// heals the same process serves again with the citizen still signed in. Takes about a minute when the pages hang
// (each request is given 30 s to answer at all): run with `npm run test:faults`.
import { expect } from 'chai'
import { createTestDatabase } from '../support/testDatabase.ts'
import { startServer, waitFor, type ServerProcess } from '../support/serverProcess.ts'
import { get, login, newAgent } from '../support/oidcFlow.ts'
import { startPartitionProxy, type PartitionProxy } from './partitionProxy.ts'

const DANISH_EXPLANATION = 'Biobankregisteret kan ikke bruges lige nu, fordi vi ikke kan få kontakt til vores database.'
/** A request that has not answered after this long is taken as hanging. */
const ANSWER_WITHIN_MS = 30_000

describe('fault: the network to the database is cut (no refusal, no answer)', function () {
  this.timeout(180_000)

  let proxy: PartitionProxy | undefined
  let server: ServerProcess | undefined

  after(async () => {
    await server?.stop('SIGKILL')
    await proxy?.close()
  })

  it('answers 503 in Danish instead of hanging, and recovers by itself when the network heals', async () => {
    const direct = new URL(await createTestDatabase())
    proxy = await startPartitionProxy({ host: direct.hostname, port: Number(direct.port) })
    const viaProxy = new URL(direct)
    viaProxy.port = String(proxy.port)
    server = await startServer({ databaseUrl: viaProxy.toString() })
    const { baseUrl, pid } = server
    const carl = newAgent()
    await login(carl, baseUrl, 'citizen', 'carl')
    expect((await get(carl, `${baseUrl}/borger`)).status).to.equal(200)

    proxy.partition()

    type Answer = { status: number | 'no answer'; text: string }
    const ask = async (path: string): Promise<Answer> => {
      try {
        const response = await carl
          .get(`${baseUrl}${path}`)
          .redirects(0)
          .ok(() => true)
          .timeout(ANSWER_WITHIN_MS)
        return { status: response.status, text: response.text }
      } catch {
        return { status: 'no answer', text: '' }
      }
    }
    // Several at once, as real traffic: the first take the pool's idle connections, the later need new ones.
    const paths = ['/readyz', '/borger', '/borger/fravalg', '/borger/proever', '/borger/adgang']
    const answers = await Promise.all(paths.map(ask))
    const aliveDuringPartition = server.alive()

    proxy.heal()

    const recovered = await waitFor(
      '/readyz to answer 200 again',
      async () => (await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined))?.status === 200,
      60_000,
      250,
    ).catch(() => false)
    const back = await get(carl, `${baseUrl}/borger`)

    // Everything observed, compared at once, so that one run shows every way the app falls short.
    const pages = paths.filter((path) => path !== '/readyz')
    expect({
      'answers while the network is cut': Object.fromEntries(paths.map((path, i) => [path, answers[i]!.status])),
      'pages explaining in Danish': pages.filter((path) => answers[paths.indexOf(path)]!.text.includes(DANISH_EXPLANATION)),
      'server alive during the partition': aliveDuringPartition,
      'ready again after healing': recovered,
      'same server process': server.alive() && server.pid === pid,
      'carl still signed in': back.status,
    }).to.deep.equal({
      'answers while the network is cut': Object.fromEntries(paths.map((path) => [path, 503])),
      'pages explaining in Danish': pages,
      'server alive during the partition': true,
      'ready again after healing': true,
      'same server process': true,
      'carl still signed in': 200,
    })
  })
})
