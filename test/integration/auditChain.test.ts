// The audit trail is append-only (the app's role may not change it, a trigger refuses everyone) and hash-chained
// in 64 chains: `npm run audit:verify` finds any changed, removed or reordered event and names the first one.
import { spawnSync } from 'node:child_process'
import { expect } from 'chai'
import pg from 'pg'
import { createTestDatabase } from '../support/testDatabase.ts'
import { createSequelize } from '../../server/db/database.ts'
import { verifyAuditChain } from '../../server/services/auditVerifier.ts'
import { createServices, type Services } from '../../server/services/index.ts'
import { createLogger } from '../../server/logger.ts'
import { testConfig } from '../support/testDatabase.ts'

const connect = async (url: string, asAppRole = false) => {
  const client = new pg.Client({ connectionString: url, ...(asAppRole ? { options: '-c role=registry_app' } : {}) })
  await client.connect()
  return client
}

async function withServices<T>(url: string, asAppRole: boolean, run: (services: Services) => Promise<T>): Promise<T> {
  const services = createServices(testConfig({ DATABASE_URL: url }), createLogger('silent'), createSequelize(url, 8, { asAppRole }))
  try {
    return await run(services)
  } finally {
    await services.database.close()
  }
}

/** A few audit events from several connections at once, so several chains are used. */
async function someActivity(url: string): Promise<void> {
  await withServices(url, true, async (services) => {
    const [donors] = (await services.database.sequelize.query('select id from donors order by id limit 12')) as [{ id: number }[], unknown]
    await Promise.all(
      donors.map((d, i) =>
        services.audit.record({ actor: { kind: 'system' }, action: 'test.activity', subjectDonorId: d.id, details: { i, note: 'æøå "quoted" \\ ok' } }),
      ),
    )
  })
}

function runVerifyCli(url: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/auditVerify.ts'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'silent', DATABASE_URL: url },
  })
}

describe('hash-chained, append-only audit trail', () => {
  it('verifies an intact trail written by many connections at once, in more than one chain', async () => {
    const url = await createTestDatabase()
    await someActivity(url)
    const owner = await connect(url)
    const { rows } = await owner.query('select count(distinct chain)::int as chains, count(*)::int as events from audit_events')
    await owner.end()
    expect(rows[0].events).to.be.greaterThan(10)
    expect(rows[0].chains).to.be.greaterThan(1)
    const verdict = await withServices(url, false, (s) => verifyAuditChain(s.database.sequelize))
    expect(verdict).to.deep.include({ ok: true, chains: 64, events: rows[0].events })

    const cli = runVerifyCli(url)
    expect(cli.status, cli.stderr).to.equal(0)
    expect(cli.stdout).to.contain(`Audit trail intact: ${rows[0].events} events in 64 chains.`)
  })

  it("refuses UPDATE and DELETE to the app's role (no privilege), and to the owner (trigger)", async () => {
    const url = await createTestDatabase()
    await someActivity(url)
    const app = await connect(url, true)
    for (const sql of ['update audit_events set action = $1', 'delete from audit_events where action = $1', 'update audit_chain_heads set seq = 0 where chain::text <> $1']) {
      const error = await app.query(sql, ['test.activity']).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      )
      expect(error?.code, sql).to.equal('42501')
      expect(error?.message, sql).to.match(/permission denied/)
    }
    await app.end()
    const owner = await connect(url)
    const error = await owner.query("update audit_events set action = 'test.rewritten'").then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.message).to.match(/append-only/)
    const deleted = await owner.query("delete from audit_events where action = 'test.activity'").then(
      () => undefined,
      (e: Error) => e,
    )
    expect(deleted?.message, 'a DELETE by the owner').to.match(/append-only/)
    await owner.end()
  })

  describe('names the first broken link', () => {
    /** Tampers as a database superuser would: with the append-only trigger switched off. */
    async function tamper(url: string, ...statements: string[]): Promise<{ id: number; chain: number; chain_seq: number }> {
      const owner = await connect(url)
      const { rows } = await owner.query(
        "select id, chain, chain_seq from audit_events where action = 'test.activity' and chain_seq > 1 and chain_seq < (select max(chain_seq) from audit_events a where a.chain = audit_events.chain) order by id limit 1",
      )
      const target = rows[0] as { id: number; chain: number; chain_seq: number }
      await owner.query('alter table audit_events disable trigger audit_events_append_only')
      for (const sql of statements) await owner.query(sql, [target.id])
      await owner.query('alter table audit_events enable trigger audit_events_append_only')
      await owner.end()
      return target
    }

    /** Activity on one connection, so one chain gets a run of events with others before and after. */
    async function chainOfFive(url: string): Promise<void> {
      const client = await connect(url, true)
      for (let i = 0; i < 5; i++) await client.query("insert into audit_events (actor_kind, action, details) values ('system', 'test.activity', $1)", [{ i }])
      await client.end()
    }

    it('for a changed event', async () => {
      const url = await createTestDatabase()
      await chainOfFive(url)
      const target = await tamper(url, `update audit_events set details = '{"i": 99}' where id = $1`)
      const verdict = await withServices(url, false, (s) => verifyAuditChain(s.database.sequelize))
      expect(verdict.ok).to.equal(false)
      if (!verdict.ok) expect(verdict.firstBroken).to.deep.equal({ chain: target.chain, seq: target.chain_seq, eventId: target.id, reason: 'content_changed' })

      const cli = runVerifyCli(url)
      expect(cli.status).to.equal(1)
      expect(cli.stderr).to.contain(`chain ${target.chain}, position ${target.chain_seq} (audit event ${target.id}): content changed`)
    })

    it('for a removed event', async () => {
      const url = await createTestDatabase()
      await chainOfFive(url)
      const target = await tamper(url, 'delete from audit_events where id = $1')
      const verdict = await withServices(url, false, (s) => verifyAuditChain(s.database.sequelize))
      expect(verdict.ok).to.equal(false)
      if (!verdict.ok) expect(verdict.firstBroken).to.include({ chain: target.chain, seq: target.chain_seq, reason: 'event_missing' })
    })

    it('for a removed last event (the chain no longer ends at its head)', async () => {
      const url = await createTestDatabase()
      await chainOfFive(url)
      const owner = await connect(url)
      const { rows } = await owner.query("select chain, max(chain_seq)::int as last from audit_events where action = 'test.activity' group by chain order by chain limit 1")
      await owner.query('alter table audit_events disable trigger audit_events_append_only')
      await owner.query('delete from audit_events where chain = $1 and chain_seq = $2', [rows[0].chain, rows[0].last])
      await owner.query('alter table audit_events enable trigger audit_events_append_only')
      await owner.end()
      const verdict = await withServices(url, false, (s) => verifyAuditChain(s.database.sequelize))
      expect(verdict.ok).to.equal(false)
      if (!verdict.ok) expect(verdict.firstBroken).to.deep.equal({ chain: rows[0].chain, seq: rows[0].last, eventId: null, reason: 'head_mismatch' })
    })

    it('for a recomputed hash that no longer links to the event before it', async () => {
      const url = await createTestDatabase()
      await chainOfFive(url)
      // A careful forger rewrites the event and its own hash, but cannot fix every later link without the whole chain.
      const target = await tamper(
        url,
        `update audit_events set details = '{"i": 42}' where id = $1`,
        `update audit_events set hash = sha256(prev_hash || convert_to(audit_event_canonical(audit_events), 'UTF8')) where id = $1`,
      )
      const verdict = await withServices(url, false, (s) => verifyAuditChain(s.database.sequelize))
      expect(verdict.ok).to.equal(false)
      if (!verdict.ok) expect(verdict.firstBroken).to.include({ chain: target.chain, seq: target.chain_seq + 1, reason: 'link_broken' })
    })
  })

  it('does not make writers on different connections wait for each other', async () => {
    const url = await createTestDatabase()
    // Connections whose chains differ (the chain is the backend pid modulo 64).
    const clients: pg.Client[] = []
    const chains = new Set<number>()
    while (clients.length < 4) {
      const client = await connect(url, true)
      const { rows } = await client.query('select pg_backend_pid() % 64 as chain')
      if (chains.has(rows[0].chain)) await client.end()
      else {
        chains.add(rows[0].chain)
        clients.push(client)
      }
    }
    for (const client of clients) await client.query("set lock_timeout = '2s'")
    // Every transaction writes and stays open; a single global lock would make the second insert wait and time out.
    for (const client of clients) await client.query('begin')
    for (const client of clients) await client.query("insert into audit_events (actor_kind, action) values ('system', 'test.parallel')")
    for (const client of clients) await client.query('commit')
    for (const client of clients) await client.end()
    const verdict = await withServices(url, false, (s) => verifyAuditChain(s.database.sequelize))
    expect(verdict.ok).to.equal(true)
  })
})
