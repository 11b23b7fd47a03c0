// Fault (issue 8): the server is asked to stop (SIGTERM, as a deploy or `docker stop` does) while a download is in
// flight. It must stop taking new connections, finish the download in full, close its database pool cleanly and
// exit 0. The download is held in flight deterministically: the test holds a lock on the samples table, so the
// export waits inside PostgreSQL until the test lets go, after the signal.
import http from 'node:http'
import { expect } from 'chai'
import pg from 'pg'
import { createTestDatabase } from '../../support/testDatabase.ts'
import { acceptsConnections, startServer, waitFor, type ServerProcess } from '../../support/serverProcess.ts'
import { login, newAgent } from '../../support/oidcFlow.ts'
import { BATCH_SIZE, CSV_COLUMNS } from '../../../server/services/exportService.ts'

const APP = 'biobank-registry'
/** Samples added to RH so that the export takes several batches, all of them fetched after the signal. */
const EXTRA_RH_SAMPLES = 2 * BATCH_SIZE + 1

describe('fault: SIGTERM while a download is in flight', function () {
  this.timeout(120_000)

  let databaseUrl: string
  let database: string
  let server: ServerProcess | undefined
  const clients: pg.Client[] = []

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'fault-tests' })
    client.on('error', () => undefined)
    await client.connect()
    clients.push(client)
    return client
  }

  before(async () => {
    databaseUrl = await createTestDatabase()
    database = new URL(databaseUrl).pathname.slice(1)
    const owner = await connect()
    await owner.query(
      `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature)
       select b.id, 'DRAIN-' || lpad(g::text, 6, '0'), d.id, 'plasma', timestamptz '2024-03-01 10:00+01', '-60to-85'
       from biobanks b cross join generate_series(1, $1::int) g
       cross join lateral (select s.donor_id as id from samples s where s.biobank_id = b.id order by s.id limit 1) d
       where b.code = 'RH'`,
      [EXTRA_RH_SAMPLES],
    )
  })
  after(async () => {
    await server?.stop('SIGKILL')
    for (const client of clients.splice(0)) await client.end().catch(() => undefined)
  })

  it("finishes henrik's whole CSV export after SIGTERM, then exits 0 leaving no connection behind", async () => {
    const observer = await connect()
    const stats = async () =>
      (
        await observer.query<{ abandoned: number; killed: number }>(
          'select sessions_abandoned::int as abandoned, sessions_killed::int as killed from pg_stat_database where datname = $1',
          [database],
        )
      ).rows[0]!
    const appConnections = async () =>
      (await observer.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2', [database, APP])).rows[0]!.n
    const { rows: expected } = await observer.query<{ n: number }>("select count(*)::int as n from samples s join biobanks b on b.id = s.biobank_id where b.code = 'RH'")
    expect(expected[0]!.n).to.be.greaterThan(2 * BATCH_SIZE)

    const statsBefore = await stats()
    server = await startServer({ databaseUrl })
    const { baseUrl, port } = server
    const henrik = newAgent()
    await login(henrik, baseUrl, 'staff', 'henrik')

    // Hold the samples table: the export's first query on it waits inside PostgreSQL.
    const keepAlive = new http.Agent({ keepAlive: true })
    const holder = await connect()
    await holder.query('begin')
    await holder.query('lock table samples in access exclusive mode')
    const download = henrik
      .get(`${baseUrl}/medarbejder/eksport.csv`)
      // As a browser does: the connection is kept alive for further requests.
      .agent(keepAlive)
      .buffer(true)
      .parse((res, done) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => done(null, text))
      })
      .ok(() => true)
      .then(
        (response) => ({ response, error: undefined }),
        (error: unknown) => ({ response: undefined, error }),
      )
    await waitFor('the export to wait for the samples table', async () => {
      const { rows } = await observer.query<{ n: number }>(
        `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where not l.granted and l.database = (select oid from pg_database where datname = current_database())
           and l.relation = 'samples'::regclass and a.application_name = $1`,
        [APP],
      )
      return rows[0]!.n > 0
    })

    server.child.kill('SIGTERM')
    await waitFor('the server to stop taking new connections', async () => !(await acceptsConnections(port)))
    expect(server.alive(), 'the server waits for the download in flight').to.equal(true)
    await holder.query('commit')

    const { response, error } = await download
    expect(error, `the download failed: ${String(error)}`).to.equal(undefined)
    expect(response!.status).to.equal(200)
    const body = response!.body as string
    expect(body.endsWith('\r\n'), 'the file ends with a whole record').to.equal(true)
    const lines = body.split('\r\n').slice(0, -1)
    expect(lines[0]).to.equal(`\ufeff${CSV_COLUMNS.join(',')}`)
    expect(lines.length - 1, 'every RH sample is in the file').to.equal(expected[0]!.n)
    expect(lines.filter((line) => /,DRAIN-\d{6},RH,/.test(line)), 'the added samples').to.have.length(EXTRA_RH_SAMPLES)

    const exit = await server.exited
    expect(exit, server.output()).to.deep.equal({ code: 0, signal: null })
    // The pool was closed, not dropped: no backend lingers, and none saw its client vanish without a goodbye.
    await waitFor('the server\'s backends to end', async () => (await appConnections()) === 0, 10_000)
    const statsAfter = await stats()
    expect(statsAfter.abandoned - statsBefore.abandoned, 'sessions abandoned by the server (connections dropped without closing)').to.equal(0)
    expect(statsAfter.killed - statsBefore.killed, 'sessions killed').to.equal(0)
    expect(server.output(), 'the server printed no error').to.not.match(/"level":(50|60)/)
    keepAlive.destroy()
  })
})
