// Fault (issue 8): the database goes away while the server runs. Pages that need it answer 503 with a Danish
// explanation (never a 500 or a stack trace), /readyz says 503 so a load balancer stops sending traffic, and when the
// database is back the same server process (no restart) serves pages again, with the citizen still signed in
// (sessions live in PostgreSQL).
import { expect } from 'chai'
import { startDedicatedCluster, startServer, waitFor, type DedicatedCluster, type ServerProcess } from '../../support/serverProcess.ts'
import { get, login, newAgent, type Agent } from '../../support/oidcFlow.ts'
import { demoCitizen } from '../../../seeders/demoPeople.ts'

const DANISH_EXPLANATION = 'Biobankregisteret kan ikke bruges lige nu, fordi vi ikke kan få kontakt til vores database.'

describe('fault: the database is unreachable, then returns', function () {
  this.timeout(180_000)

  let cluster: DedicatedCluster
  let server: ServerProcess | undefined

  before(async () => {
    cluster = await startDedicatedCluster('faults-pg')
  })
  after(async () => {
    await server?.stop('SIGKILL')
    if (!cluster?.isRunning()) await cluster?.start().catch(() => undefined)
    await cluster?.close()
  })

  const readyz = async (baseUrl: string) => {
    const response = await fetch(`${baseUrl}/readyz`)
    return { status: response.status, body: (await response.json()) as unknown }
  }

  it('answers 503 in Danish while it is gone, and recovers by itself with the session intact', async () => {
    const databaseUrl = await cluster.createDatabase()
    server = await startServer({ databaseUrl })
    const { baseUrl, pid } = server
    const carl: Agent = newAgent()
    await login(carl, baseUrl, 'citizen', 'carl')
    const home = await get(carl, `${baseUrl}/borger`)
    expect(home.status).to.equal(200)
    expect(home.text).to.contain('Carl')

    await cluster.stop()

    expect(await readyz(baseUrl)).to.deep.equal({ status: 503, body: { status: 'DOWN', checks: { database: 'DOWN' } } })
    for (const path of ['/borger', '/borger/fravalg', '/borger/proever']) {
      const page = await get(carl, `${baseUrl}${path}`)
      expect(page.status, `${path} while the database is down`).to.equal(503)
      expect(page.headers['content-type'], path).to.match(/^text\/html/)
      expect(page.text, path).to.contain('Tjenesten er midlertidigt utilgængelig')
      expect(page.text, path).to.contain(DANISH_EXPLANATION)
      expect(page.headers['retry-after'], path).to.equal('30')
    }
    // The front page needs no database and keeps working.
    const front = await get(newAgent(), `${baseUrl}/`)
    expect(front.status, 'front page while the database is down').to.equal(200)
    expect(server.alive(), 'the server survived the outage').to.equal(true)

    await cluster.start()

    await waitFor('/readyz to answer 200 again', async () => (await readyz(baseUrl)).status === 200, 30_000, 250)
    expect(server.alive() && server.pid, 'the same server process').to.equal(pid)
    const back = await get(carl, `${baseUrl}/borger`)
    expect(back.status, 'carl is still signed in').to.equal(200)
    expect(back.text).to.contain('Carl')
    const optOut = await get(carl, `${baseUrl}/borger/fravalg`)
    expect(optOut.status).to.equal(200)
    // What the server printed about the outage holds no CPR number.
    expect(server.output()).to.not.contain(demoCitizen('carl').cpr)
  })

  it('does not send a citizen to MitID while it cannot remember the sign-in, but explains in Danish', async () => {
    server ??= await startServer({ databaseUrl: await cluster.createDatabase() })
    await cluster.stop()
    try {
      // The login start stores state and PKCE verifier in the session; with no database to store them in, the
      // citizen would sign in with MitID only to be refused on return.
      const start = await get(newAgent(), `${server.baseUrl}/auth/borger/login`)
      expect(start.status, `login start answered ${start.status}${start.headers.location ? ` to ${new URL(start.headers.location, server.baseUrl).pathname}` : ''}`).to.equal(503)
      expect(start.text).to.contain(DANISH_EXPLANATION)
    } finally {
      await cluster.start()
    }
  })
})
