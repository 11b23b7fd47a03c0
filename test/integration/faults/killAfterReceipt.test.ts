// Fault (issue 8): the server process is killed (SIGKILL, no chance to clean up) right after a citizen was shown the
// receipt of an opt-out. A receipt on screen must mean the change is stored: after a restart on the same database
// the opt-out, its event with that receipt reference and its audit event are there, the audit chain is intact,
// and the citizen's session (kept in PostgreSQL) still shows the receipt.
// The same when it is PostgreSQL that dies right after the receipt (immediate shutdown: no checkpoint, nothing more
// written): the receipt may only be shown once the change is on disk, not merely committed in memory.
import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { QueryTypes, Sequelize } from 'sequelize'
import { projectRoot } from '../../../server/config.ts'
import { createTestDatabase, testConfig } from '../../support/testDatabase.ts'
import { startDedicatedCluster, startServer, type DedicatedCluster, type ServerProcess } from '../../support/serverProcess.ts'
import { csrfTokenOf, get, login, newAgent } from '../../support/oidcFlow.ts'
import { verifyAuditChain } from '../../../server/services/auditVerifier.ts'
import { createCprProtector } from '../../../server/domain/cprCrypto.ts'
import { demoCitizen } from '../../../seeders/demoPeople.ts'


/** carl signs in, opts out of research on his material and sees the receipt (its page and its reference). */
async function carlOptsOutWithReceipt(baseUrl: string) {
  const agent = newAgent()
  await login(agent, baseUrl, 'citizen', 'carl')

  const confirm = await get(agent, `${baseUrl}/borger/fravalg/bekraeft?choice=material&optOut=yes`)
  expect(confirm.status, confirm.text).to.equal(200)
  const posted = await agent
    .post(`${baseUrl}/borger/fravalg`)
    .type('form')
    .send({ _csrf: csrfTokenOf(confirm.text), choice: 'material', optOut: 'yes', formToken: /name="formToken" value="([^"]+)"/.exec(confirm.text)![1]! })
    .redirects(0)
    .ok(() => true)
  expect(posted.status).to.equal(303)
  const receiptPath = posted.headers.location!
  expect(receiptPath).to.match(/^\/borger\/fravalg\/kvittering\/VAR-\d{4}-[0-9A-Z]{8}$/)
  const reference = receiptPath.split('/').at(-1)!
  const receipt = await get(agent, `${baseUrl}${receiptPath}`)
  expect(receipt.status).to.equal(200)
  expect(receipt.text).to.contain(reference)
  return { agent, receiptPath, reference }
}

describe('fault: the server is killed right after a receipt is shown', function () {
  this.timeout(120_000)

  let databaseUrl: string
  let sequelize: Sequelize
  let server: ServerProcess | undefined

  const select = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) => sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })

  before(async () => {
    databaseUrl = await createTestDatabase()
    // Not the app's application_name, so these connections are never taken for the server's.
    sequelize = new Sequelize(databaseUrl, { dialect: 'postgres', logging: false, pool: { max: 2 }, dialectOptions: { application_name: 'fault-tests' } })
  })
  after(async () => {
    await server?.stop('SIGKILL')
    await sequelize?.close()
  })

  it("keeps carl's opt-out, its receipt and its audit event, with the audit chain intact", async () => {
    const { secrets } = testConfig()
    const cpr = createCprProtector({ hmacKey: secrets.cprHmacKey, encryptionKey: secrets.cprEncryptionKey })
    const [carl] = await select<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac: cpr.hash(demoCitizen('carl').cpr) })
    expect(carl, 'carl is a demo donor').to.not.equal(undefined)
    const [before] = await select<{ material: boolean }>('select material from opt_outs where donor_id = :id', { id: carl!.id })
    expect(before?.material ?? false, 'carl has not opted out of research on his material yet').to.equal(false)

    server = await startServer({ databaseUrl })
    const { baseUrl, port } = server
    const { agent, receiptPath, reference } = await carlOptsOutWithReceipt(baseUrl)

    // The receipt is on the screen: kill the server at once, with no chance to finish anything.
    const killed = await server.stop('SIGKILL')
    expect(killed.signal).to.equal('SIGKILL')

    server = await startServer({ databaseUrl, port })

    const [state] = await select<{ material: boolean; genetic: boolean }>('select material, genetic from opt_outs where donor_id = :id', { id: carl!.id })
    expect(state, 'opt_outs row of carl').to.deep.equal({ material: true, genetic: false })
    const events = await select<{ choice: string; opted_out: boolean; acted_by: string }>(
      'select choice, opted_out, acted_by from opt_out_events where donor_id = :id and receipt_reference = :reference',
      { id: carl!.id, reference },
    )
    expect(events, 'the opt-out event with the receipt reference shown').to.deep.equal([{ choice: 'material', opted_out: true, acted_by: 'self' }])
    const audits = await select<{ actor_kind: string; subject_donor_id: number; details: Record<string, unknown> }>(
      "select actor_kind, subject_donor_id, details from audit_events where action = 'optout.change' and details->>'receipt' = :reference",
      { reference },
    )
    expect(audits, 'the audit event of the change').to.have.length(1)
    expect(audits[0]).to.deep.include({ actor_kind: 'citizen', subject_donor_id: Number(carl!.id) })
    expect(audits[0]!.details).to.include({ choice: 'material', optedOut: true })

    const verdict = await verifyAuditChain(sequelize)
    expect(verdict, JSON.stringify(verdict)).to.include({ ok: true })

    // The session lived in PostgreSQL, not in the killed process: carl is still signed in and sees his receipt.
    const again = await get(agent, `${baseUrl}${receiptPath}`)
    expect(again.status).to.equal(200)
    expect(again.text).to.contain(reference)
    expect(server.output(), 'the server printed no error after the restart').to.not.match(/"level":(50|60)/)
  })
})

describe('fault: PostgreSQL crashes right after a receipt is shown', function () {
  this.timeout(180_000)

  /** A cluster of its own, which this test may crash (the shared test cluster must never be). */
  const CLUSTER = 'faults-pg'
  let cluster: DedicatedCluster
  let server: ServerProcess | undefined

  async function onCluster<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: database, application_name: 'fault-tests' })
    client.on('error', () => undefined)
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  }

  before(async () => {
    cluster = await startDedicatedCluster(CLUSTER)
    // A commit that does not wait for the disk (synchronous_commit = off) reaches it only when the WAL writer next
    // flushes, every wal_writer_delay; at its longest (10 s) such a commit is still in memory when the crash below
    // comes, so it is lost and this test fails. A commit that waits for the disk is not affected by the setting.
    await onCluster(cluster.url(), async (c) => {
      await c.query("alter system set wal_writer_delay = '10s'")
      await c.query('select pg_reload_conf()')
    })
  })
  after(async () => {
    await server?.stop('SIGKILL')
    if (cluster && !cluster.isRunning()) await cluster.start().catch(() => undefined)
    if (cluster?.isRunning()) {
      await onCluster(cluster.url(), async (c) => {
        await c.query('alter system reset wal_writer_delay')
        await c.query('select pg_reload_conf()')
      }).catch(() => undefined)
    }
    await cluster?.close()
  })

  /** Immediate shutdown (SIGQUIT to the postmaster): every backend ends at once, WAL still in memory is lost. */
  async function crash(): Promise<void> {
    const pidFile = path.join(projectRoot, '.data', CLUSTER, 'pg', 'postmaster.pid')
    const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
    expect(Number.isInteger(postmaster) && postmaster > 0, `postmaster pid in ${pidFile}`).to.equal(true)
    process.kill(postmaster, 'SIGQUIT')
    // In the same tick, so the cluster handle waits for the exit that the SIGQUIT causes (its own SIGINT comes
    // second and cannot soften an immediate shutdown into a fast one, which would write a checkpoint).
    await cluster.stop()
  }

  it("keeps carl's opt-out, its receipt and its audit event when the database crashes at once (immediate shutdown)", async () => {
    const databaseUrl = await cluster.createDatabase()
    const { secrets } = testConfig()
    const cpr = createCprProtector({ hmacKey: secrets.cprHmacKey, encryptionKey: secrets.cprEncryptionKey })
    const carlId = await onCluster(databaseUrl, async (c) => {
      const { rows } = await c.query<{ id: string }>('select id from donors where cpr_hmac = $1', [cpr.hash(demoCitizen('carl').cpr)])
      expect(rows, 'carl is a demo donor').to.have.length(1)
      const { rows: before } = await c.query<{ material: boolean }>('select material from opt_outs where donor_id = $1', [rows[0]!.id])
      expect(before[0]?.material ?? false, 'carl has not opted out of research on his material yet').to.equal(false)
      return Number(rows[0]!.id)
    })

    server = await startServer({ databaseUrl })
    const { baseUrl } = server
    const { reference } = await carlOptsOutWithReceipt(baseUrl)

    // The receipt is on the screen: the database dies at once. Then it starts again (crash recovery from the WAL).
    await crash()
    await server.stop('SIGKILL')
    server = undefined
    await cluster.start()

    await onCluster(databaseUrl, async (c) => {
      const { rows: state } = await c.query('select material, genetic from opt_outs where donor_id = $1', [carlId])
      expect(state, 'opt_outs row of carl after the crash').to.deep.equal([{ material: true, genetic: false }])
      const { rows: events } = await c.query('select choice, opted_out, acted_by from opt_out_events where donor_id = $1 and receipt_reference = $2', [carlId, reference])
      expect(events, 'the opt-out event with the receipt reference shown').to.deep.equal([{ choice: 'material', opted_out: true, acted_by: 'self' }])
      const { rows: audits } = await c.query("select actor_kind from audit_events where action = 'optout.change' and details->>'receipt' = $1", [reference])
      expect(audits, 'the audit event of the change').to.deep.equal([{ actor_kind: 'citizen' }])
    })
    const sequelize = new Sequelize(databaseUrl, { dialect: 'postgres', logging: false, pool: { max: 1 }, dialectOptions: { application_name: 'fault-tests' } })
    try {
      const verdict = await verifyAuditChain(sequelize)
      expect(verdict, JSON.stringify(verdict)).to.include({ ok: true })
    } finally {
      await sequelize.close()
    }
  })
})
