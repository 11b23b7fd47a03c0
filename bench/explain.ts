// EXPLAIN (ANALYZE, BUFFERS) of the hot statements, exactly as the services send them: the services run once with
// Sequelize's query log captured, and each captured statement is then explained (which executes it) inside a
// transaction that is rolled back. The session store's two statements (connect-pg-simple) are added by hand.
import crypto from 'node:crypto'
import type pg from 'pg'
import type { Services } from '../server/services/index.ts'
import type { CitizenSessionUser } from '../server/services/authService.ts'
import { createCitizenSessions, deleteBenchSessions } from './sessions.ts'

export interface ExplainedStatement {
  group: string
  name: string
  sql: string
  plan: string
}

interface Captured {
  sql: string
  bind: unknown[] | undefined
}

const CONTROL = /^(START TRANSACTION|BEGIN|COMMIT|ROLLBACK|SET |SAVEPOINT|RELEASE|SHOW )/i

/** Runs `action` and returns the statements it sent through Sequelize (not transaction control). */
async function capture(services: Services, action: () => Promise<unknown>): Promise<Captured[]> {
  const sequelize = services.database.sequelize as unknown as { options: { logging: unknown } }
  const previous = sequelize.options.logging
  const statements: Captured[] = []
  sequelize.options.logging = (message: string, options?: { bind?: unknown[] }) => {
    const sql = message.replace(/^Executing \([^)]*\): /, '').trim()
    if (!CONTROL.test(sql)) statements.push({ sql, bind: Array.isArray(options?.bind) ? options.bind : undefined })
  }
  try {
    await action()
  } finally {
    sequelize.options.logging = previous
  }
  return statements
}

function nameOf(sql: string): string {
  const s = sql.replace(/\s+/g, ' ')
  if (/from samples s join biobanks b/i.test(s) && /where s\.donor_id/i.test(s)) return 'citizenService.sampleRows: a citizen\'s samples'
  if (/^select material, genetic, updated_at from opt_outs/i.test(s)) return 'citizenService.choicesOf: current choices'
  if (/^INSERT INTO "audit_events"/i.test(s)) return 'audit.record: insert (with the hash-chain trigger)'
  if (/^insert into opt_outs/i.test(s)) return 'optOutService.change: make sure the person\'s row exists'
  if (/for update/i.test(s)) return 'optOutService.change: lock the person\'s row'
  if (/form_token = /i.test(s) && /^select/i.test(s)) return 'optOutService.change: same form sent before?'
  if (/^update opt_outs/i.test(s)) return 'optOutService.change: new choices'
  if (/^insert into opt_out_events/i.test(s)) return 'optOutService.change: the receipt event'
  return s.slice(0, 80)
}

async function explainAll(client: pg.PoolClient, group: string, statements: Captured[], rewrite: (text: string) => string = (t) => t): Promise<ExplainedStatement[]> {
  const out: ExplainedStatement[] = []
  await client.query('begin')
  try {
    for (const statement of statements) {
      const sql = rewrite(statement.sql).replace(/;\s*$/, '')
      const params = statement.bind?.map((value) => (typeof value === 'string' ? rewrite(value) : value))
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, params)
      out.push({ group, name: nameOf(sql), sql, plan: rows.map((r) => r['QUERY PLAN']).join('\n') })
    }
  } finally {
    await client.query('rollback')
  }
  return out
}

export async function explainHotQueries(services: Services, sessionSecret: string, donorIds: number[]): Promise<ExplainedStatement[]> {
  const pool = services.database.pool
  // The citizen with the most samples among the given ones: the heaviest page among them.
  const { rows: biggest } = await pool.query<{ donor_id: number; n: number }>(
    'select donor_id, count(*)::int as n from samples where donor_id = any($1::bigint[]) group by donor_id order by n desc, donor_id limit 2',
    [donorIds],
  )
  if (biggest.length < 2) throw new Error('explain: need two donors with samples')
  const [pageDonor, optOutDonor] = biggest.map((r) => Number(r.donor_id)) as [number, number]
  const subjectOf = async (donorId: number) => {
    const user: CitizenSessionUser = { kind: 'citizen', donorId, name: 'Bench Explain', loa: 'Substantial' }
    const subject = await services.citizen.resolveSubject(user)
    if (subject === 'childNoLongerAvailable') throw new Error('unexpected custody answer')
    return subject
  }

  const page = await capture(services, async () => services.citizen.samples(await subjectOf(pageDonor), 1))

  const subject = await subjectOf(optOutDonor)
  const { genetic } = await services.citizen.choicesOf(optOutDonor)
  const formToken = crypto.randomUUID()
  let reference = ''
  const change = await capture(services, async () => {
    const result = await services.optOuts.change({ kind: 'citizen', subject }, { choice: 'genetic', optOut: !genetic, formToken })
    if (result.outcome !== 'changed') throw new Error(`explain: the opt-out change was ${result.outcome}`)
    reference = result.receipt.reference
  })
  // Explaining executes the statements again: a fresh token and reference keep the unique indexes satisfied.
  const freshToken = crypto.randomUUID()
  const freshReference = `VAR-2099-${crypto.randomBytes(4).toString('hex').toUpperCase()}`
  const rewrite = (text: string) => text.split(formToken).join(freshToken).split(reference).join(freshReference)

  const [session] = await createCitizenSessions(pool, sessionSecret, [pageDonor], 60)
  const now = Date.now() / 1000
  const client = await pool.connect()
  try {
    return [
      ...(await explainAll(client, `GET /borger/proever (citizen with ${biggest[0]!.n} samples)`, page)),
      ...(await explainAll(client, 'POST /borger/fravalg (one change)', change, rewrite)),
      ...(await explainAll(client, 'session store (connect-pg-simple), every request', [
        { sql: `SELECT sess FROM "sessions" WHERE sid = '${session!.sid}' AND expire >= to_timestamp(${now})`, bind: undefined },
        { sql: `UPDATE "sessions" SET expire = to_timestamp(${now + 3600}) WHERE sid = '${session!.sid}' RETURNING sid`, bind: undefined },
      ])).map((s) => ({ ...s, name: s.sql.startsWith('SELECT') ? 'session get' : 'session touch (every request)' })),
    ]
  } finally {
    client.release()
    await deleteBenchSessions(pool)
  }
}
