// Fault (issue 8), the harder kind of "database unreachable": the network to PostgreSQL is cut without anything
// being closed or refused (a partition, a dead firewall, a hung host). Connections simply stop answering. Pages must
// still answer, with 503 and the Danish explanation, instead of hanging; /readyz must say 503; and when the network
// heals the same process serves again with the citizen still signed in.
//
// The server runs with shorter limits than the defaults (15 s per statement, 5 s to connect; server/config.ts), so
// that the test takes seconds; the mechanism is the same. A page that hangs is given 30 s to answer at all.
import { expect } from 'chai'
import { createTestDatabase } from '../../support/testDatabase.ts'
import { startServer, waitFor, type ServerProcess } from '../../support/serverProcess.ts'
import { get, login, newAgent } from '../../support/oidcFlow.ts'
import { startPartitionProxy, type PartitionProxy } from './partitionProxy.ts'
import { createSequelize } from '../../../server/db/database.ts'
import { allowLongQueries, longQuery } from '../../../server/db/boundedClient.ts'
import { createDatabase, type Database } from '../../../server/services/database.ts'
import { isDatabaseUnavailable } from '../../../server/errorHandler.ts'

const DANISH_EXPLANATION = 'Biobankregisteret kan ikke bruges lige nu, fordi vi ikke kan få kontakt til vores database.'
/** A request that has not answered after this long is taken as hanging. */
const ANSWER_WITHIN_MS = 30_000
/** The server's limits on waiting for the database, shorter than the defaults. */
const LIMITS = {
  DATABASE_CONNECT_TIMEOUT_MS: '3000',
  DATABASE_ACQUIRE_TIMEOUT_MS: '5000',
  DATABASE_QUERY_TIMEOUT_MS: '5000',
  DATABASE_READY_TIMEOUT_MS: '2000',
}

describe('fault: the network to the database is cut (no refusal, no answer)', function () {
  this.timeout(180_000)

  let proxy: PartitionProxy | undefined
  let server: ServerProcess | undefined
  let database: Database | undefined

  after(async () => {
    await server?.stop('SIGKILL')
    proxy?.heal()
    await database?.close().catch(() => undefined)
    await proxy?.close()
  })

  it('answers 503 in Danish instead of hanging, and recovers by itself when the network heals', async () => {
    const direct = new URL(await createTestDatabase())
    await proxy?.close()
    proxy = await startPartitionProxy({ host: direct.hostname, port: Number(direct.port) })
    const viaProxy = new URL(direct)
    viaProxy.port = String(proxy.port)
    server = await startServer({ databaseUrl: viaProxy.toString(), env: LIMITS })
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

  it('bounds every wait in both pools, drops the broken connections, and still lets bulk work run long', async () => {
    const direct = new URL(await createTestDatabase())
    await proxy?.close()
    proxy = await startPartitionProxy({ host: direct.hostname, port: Number(direct.port) })
    const viaProxy = new URL(direct)
    viaProxy.port = String(proxy.port)
    // Limits far below the defaults; `pg_sleep(1.5)` outlives the statement limit but not the bulk one.
    const sequelize = createSequelize(viaProxy.toString(), 3, { timeouts: { connectMs: 1000, acquireMs: 2000, queryMs: 1000, bulkQueryMs: 30_000, readyMs: 1000 } })
    database = createDatabase(sequelize)
    const { pool } = database
    const outcome = (work: Promise<unknown>) =>
      work.then(
        () => 'done',
        (error: unknown) => (isDatabaseUnavailable(error) ? 'database unavailable' : `other error: ${(error as Error).message}`),
      )
    const sleep = 'select pg_sleep(1.5)'

    const beforeCut = {
      'a statement past the limit': await outcome(sequelize.query(sleep)),
      'the pool after that': await outcome(sequelize.query('select 1')),
      'a transaction allowed long statements': await outcome(
        sequelize.transaction(async (transaction) => {
          allowLongQueries(transaction)
          await sequelize.query(sleep, { transaction })
        }),
      ),
      // The connection that carried the bulk work is handed out again with the ordinary limit.
      'the next holder of that connection': await outcome(sequelize.query(sleep)),
      'a long pg statement in the plain pool': await outcome(pool.query(longQuery(sleep))),
      'an ordinary one past the limit there': await outcome(pool.query(sleep)),
      'ready': await database.isReady(),
    }

    proxy.partition()
    // More at once than either pool holds: idle connections go silent, new ones never finish connecting.
    const cut = await Promise.all([
      ...Array.from({ length: 5 }, () => outcome(sequelize.query('select 1'))),
      outcome(sequelize.transaction(async (transaction) => sequelize.query('select 1', { transaction }))),
      ...Array.from({ length: 5 }, () => outcome(pool.query('select 1'))),
      database.isReady(),
    ])

    proxy.heal()
    await waitFor('the database to be ready again', () => database!.isReady(), 30_000, 100)
    // Every connection of both pools, in turn: none left over from the partition may fail or hang.
    const afterHeal = await Promise.all([
      ...Array.from({ length: 6 }, () => outcome(sequelize.query('select 1'))),
      ...Array.from({ length: 6 }, () => outcome(pool.query('select 1'))),
    ])

    expect({ beforeCut, cut, afterHeal }).to.deep.equal({
      beforeCut: {
        'a statement past the limit': 'database unavailable',
        'the pool after that': 'done',
        'a transaction allowed long statements': 'done',
        'the next holder of that connection': 'database unavailable',
        'a long pg statement in the plain pool': 'done',
        'an ordinary one past the limit there': 'database unavailable',
        'ready': true,
      },
      cut: [...Array.from({ length: 11 }, () => 'database unavailable'), false],
      afterHeal: Array.from({ length: 12 }, () => 'done'),
    })
  })
})
