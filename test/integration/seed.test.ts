// The demo data set on a real database: the demo citizens' story, the further donors, determinism, the
// seed-once guard, reload, and above all that no CPR number is stored in plain text anywhere.
import { expect } from 'chai'
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize'
import { createSequelize } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { createServices, type Services } from '../../server/services/index.ts'
import { parseCpr } from '../../server/domain/cpr.ts'
import { BIOBANK_CODES, MATERIAL_TYPE_CODES, biobanks } from '../../server/domain/vocabulary.ts'
import { demoCitizen, demoCitizens } from '../../seeders/demoPeople.ts'
import { buildDemoPlan } from '../../seeders/demoPlan.ts'
import { reloadDemoData, seedDemoDataIfEmpty } from '../../seeders/index.ts'
import { createTestDatabase, testConfig } from '../support/testDatabase.ts'

interface SampleRow {
  id: number
  label: string
  biobank: string
  donor_id: number
  material_type: string
  lineage: string
  parent_id: number | null
  parent_donor_id: number | null
  parent_label: string | null
  availability: string
  storage_location: string | null
}

const DATA_TABLES = ['biobanks', 'donors', 'staff_users', 'samples', 'sample_events', 'opt_outs', 'opt_out_events', 'custody', 'audit_events']

describe('demo data (seeders)', function () {
  this.timeout(60_000)

  let databaseUrl: string
  let sequelize: Sequelize
  let services: Services
  /** Row counts right after seeding. */
  let seeded: Record<string, number>

  const select = async <T extends object>(sql: string, replacements: Record<string, unknown> = {}): Promise<T[]> =>
    sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements })

  const donorIdOf = async (userId: string): Promise<number> => {
    const rows = await select<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac: services.cpr.hash(demoCitizen(userId).cpr) })
    expect(rows, `donor row of ${userId}`).to.have.length(1)
    return rows[0]!.id
  }

  const samplesOf = async (userId: string): Promise<SampleRow[]> =>
    select<SampleRow>(
      `select s.id, s.label, b.code as biobank, s.donor_id, s.material_type, s.lineage, s.parent_id, p.donor_id as parent_donor_id,
              p.label as parent_label, s.availability, s.storage_location
       from samples s join biobanks b on b.id = s.biobank_id left join samples p on p.id = s.parent_id
       where s.donor_id = :donor order by s.id`,
      { donor: await donorIdOf(userId) },
    )

  const counts = async (): Promise<Record<string, number>> => {
    const result: Record<string, number> = {}
    for (const table of DATA_TABLES) result[table] = (await select<{ n: number }>(`select count(*)::int as n from ${table}`))[0]!.n
    return result
  }

  /** What must come out the same on every load (ids, labels, dates, places, lineage). */
  const fingerprint = async (): Promise<string> => {
    const [row] = await select<{ samples: string; events: string; donors: string }>(
      `select
         (select md5(string_agg(concat_ws('|', s.id, s.label, s.biobank_id, s.donor_id, s.material_type, s.collected_at, s.storage_temperature,
                                          s.lineage, s.parent_id, s.quantity, s.quantity_unit, s.storage_location, s.sprec, s.diagnosis, s.availability), ',' order by s.id))
            from samples s) as samples,
         (select md5(string_agg(concat_ws('|', e.sample_id, e.event_type, e.occurred_at, e.details::text), ',' order by e.sample_id, e.occurred_at, e.event_type, e.details::text))
            from sample_events e) as events,
         (select md5(string_agg(concat_ws('|', d.id, encode(d.cpr_hmac, 'hex'), d.birth_date), ',' order by d.id)) from donors d) as donors`,
    )
    return JSON.stringify(row)
  }

  before(async () => {
    databaseUrl = await createTestDatabase()
    sequelize = createSequelize(databaseUrl, 4)
    services = createServices(testConfig({ DATABASE_URL: databaseUrl }), createLogger('silent'), sequelize)
    seeded = await counts()
  })

  after(async () => {
    await sequelize?.close()
  })

  it('has the five regional biobanks', async () => {
    const rows = await select<{ code: string; name: string; region: string }>('select code, name, region from biobanks order by id')
    expect(rows).to.deep.equal(biobanks.map((b) => ({ code: b.code, name: b.name, region: b.region })))
  })

  it('has every demo citizen as a donor, birth date from the CPR number, the number recoverable only by decryption', async () => {
    for (const citizen of demoCitizens) {
      const [row] = await select<{ birth_date: string; cpr_encrypted: Buffer }>('select birth_date, cpr_encrypted from donors where cpr_hmac = :hmac', {
        hmac: services.cpr.hash(citizen.cpr),
      })
      expect(row, citizen.userId).to.exist
      const parsed = parseCpr(citizen.cpr)
      if (!parsed.ok) throw new Error('demo CPR does not parse')
      expect(row!.birth_date, citizen.userId).to.equal(parsed.birthDate.toISOString().slice(0, 10))
      expect(services.cpr.decrypt(row!.cpr_encrypted), citizen.userId).to.equal(citizen.cpr)
    }
  })

  it('gives anne samples in two regions, with a whole-blood primary, two plasma aliquots and a DNA derivative', async () => {
    const samples = await samplesOf('anne')
    const anne = await donorIdOf('anne')
    expect(new Set(samples.map((s) => s.biobank))).to.deep.equal(new Set(['RH', 'RM']))
    const blood = samples.find((s) => s.material_type === 'whole-blood' && s.lineage === 'primary')
    expect(blood, 'whole-blood primary').to.exist
    expect(blood!.parent_id).to.equal(null)
    const children = samples.filter((s) => s.parent_id === blood!.id)
    const aliquots = children.filter((s) => s.lineage === 'aliquot')
    const derivatives = children.filter((s) => s.lineage === 'derivative')
    expect(aliquots.map((s) => s.material_type)).to.deep.equal(['plasma', 'plasma'])
    expect(derivatives.map((s) => s.material_type)).to.deep.equal(['dna'])
    for (const child of children) {
      expect(child.donor_id).to.equal(anne)
      expect(child.parent_donor_id).to.equal(anne)
      expect(child.biobank).to.equal(blood!.biobank)
      expect(child.label.startsWith(`${blood!.label}-`), child.label).to.equal(true)
    }
    expect(samples.map((s) => s.material_type)).to.include.members(['serum', 'tissue-ffpe'])
  })

  it('records a few events per demo citizen sample, moves with from and to', async () => {
    const rows = await select<{ label: string; events: number }>(
      `select s.label, count(e.id)::int as events from samples s left join sample_events e on e.sample_id = s.id
       where s.donor_id in (:donors) group by s.label`,
      { donors: await Promise.all(['anne', 'bo', 'dorte', 'emil', 'frida'].map(donorIdOf)) },
    )
    for (const row of rows) expect(row.events, row.label).to.be.at.least(2)
    const moves = await select<{ details: { from?: string; to?: string } }>(`select details from sample_events where event_type = 'moved'`)
    expect(moves.length).to.be.greaterThan(0)
    for (const move of moves) {
      expect(move.details.from).to.be.a('string').and.not.equal('')
      expect(move.details.to).to.be.a('string').and.not.equal('')
    }
    const [early] = await select<{ n: number }>('select count(*)::int as n from sample_events e join samples s on s.id = e.sample_id where e.occurred_at < s.collected_at')
    expect(early!.n, 'events before their sample was collected').to.equal(0)
  })

  it('has bo opted out of both choices, with two receipted digital events', async () => {
    const bo = await donorIdOf('bo')
    expect((await samplesOf('bo')).length).to.be.at.least(2)
    const state = await select<{ material: boolean; genetic: boolean }>('select material, genetic from opt_outs where donor_id = :bo', { bo })
    expect(state).to.deep.equal([{ material: true, genetic: true }])
    const events = await select<{
      choice: string
      opted_out: boolean
      acted_by: string
      channel: string
      receipt_reference: string
      material_after: boolean
      genetic_after: boolean
    }>('select choice, opted_out, acted_by, channel, receipt_reference, material_after, genetic_after from opt_out_events where donor_id = :bo order by id', { bo })
    expect(events).to.have.length(2)
    expect(events.map((e) => [e.choice, e.opted_out, e.acted_by, e.channel])).to.deep.equal([
      ['material', true, 'self', 'digital'],
      ['genetic', true, 'self', 'digital'],
    ])
    expect(events.map((e) => [e.material_after, e.genetic_after])).to.deep.equal([
      [true, false],
      [true, true],
    ])
    for (const e of events) expect(e.receipt_reference).to.match(/^VAR-2026-[0-9A-Z]{6}$/)
    expect(new Set(events.map((e) => e.receipt_reference)).size).to.equal(2)
  })

  it('keeps every opt-out state equal to the last event of each choice', async () => {
    const rows = await select<{ donor_id: number; material: boolean; genetic: boolean; material_after: boolean; genetic_after: boolean }>(
      `select o.donor_id, o.material, o.genetic, last.material_after, last.genetic_after
       from opt_outs o
       join lateral (select material_after, genetic_after from opt_out_events e where e.donor_id = o.donor_id order by e.id desc limit 1) last on true`,
    )
    expect(rows.length).to.be.at.least(2)
    for (const row of rows) expect([row.material, row.genetic], `donor ${row.donor_id}`).to.deep.equal([row.material_after, row.genetic_after])
    const [receipts] = await select<{ all: number; distinct: number }>('select count(*)::int as all, count(distinct receipt_reference)::int as distinct from opt_out_events')
    expect(receipts!.distinct).to.equal(receipts!.all)
  })

  it('knows carl, who has no samples', async () => {
    await donorIdOf('carl')
    expect(await samplesOf('carl')).to.deep.equal([])
  })

  it('gives dorte, emil (9) and frida (15) samples, and dorte custody of both children by the HMAC of her CPR number', async () => {
    for (const userId of ['dorte', 'emil', 'frida']) expect((await samplesOf(userId)).length, userId).to.be.at.least(2)
    const custody = await select<{ child_donor_id: number }>('select child_donor_id from custody where parent_cpr_hmac = :hmac order by child_donor_id', {
      hmac: services.cpr.hash(demoCitizen('dorte').cpr),
    })
    expect(custody.map((c) => c.child_donor_id)).to.have.members([await donorIdOf('emil'), await donorIdOf('frida')])
  })

  it('seeds no staff users (they are created at login)', async () => {
    expect((await counts()).staff_users).to.equal(0)
  })

  it('adds about forty further donors with a few hundred samples across every region and material type', async () => {
    const [totals] = await select<{ donors: number; samples: number }>('select (select count(*)::int from donors) as donors, (select count(*)::int from samples) as samples')
    expect(totals!.donors).to.be.at.least(demoCitizens.length + 40)
    expect(totals!.samples).to.be.at.least(300)
    const used = await select<{ code: string }>('select distinct b.code from samples s join biobanks b on b.id = s.biobank_id')
    expect(used.map((r) => r.code)).to.have.members([...BIOBANK_CODES])
    const materials = await select<{ material_type: string }>('select distinct material_type from samples')
    expect(materials.map((r) => r.material_type)).to.have.members([...MATERIAL_TYPE_CODES])
    const availabilities = await select<{ availability: string }>('select distinct availability from samples')
    expect(availabilities.length).to.be.at.least(4)
    const [some] = await select<{ sprec: number; diagnosis: number; quantity: number; children: number }>(
      `select count(sprec)::int as sprec, count(diagnosis)::int as diagnosis, count(quantity)::int as quantity, count(parent_id)::int as children from samples`,
    )
    expect(some!.sprec).to.be.greaterThan(20)
    expect(some!.diagnosis).to.be.greaterThan(20)
    expect(some!.quantity).to.be.greaterThan(200)
    expect(some!.children).to.be.greaterThan(20)
  })

  it('labels samples per biobank (RH-2024-000123) and gives stored samples distinct FREEZER/RACK/BOX/POSITION places', async () => {
    const rows = await select<{ label: string; code: string; storage_location: string | null; availability: string }>(
      'select s.label, b.code, s.storage_location, s.availability from samples s join biobanks b on b.id = s.biobank_id',
    )
    for (const row of rows) {
      expect(row.label).to.match(/^(RH|RSJ|RSD|RM|RN)-\d{4}-\d{6}(-\d{2})*$/)
      expect(row.label.startsWith(`${row.code}-`), row.label).to.equal(true)
      const stored = row.availability === 'available' || row.availability === 'reserved'
      if (stored) expect(row.storage_location, row.label).to.match(/^[^/]+\/[^/]+\/[^/]+\/[^/]+$/)
    }
    const [parents] = await select<{ bad: number }>(
      `select count(*)::int as bad from samples c join samples p on p.id = c.parent_id
       where p.donor_id <> c.donor_id or p.biobank_id <> c.biobank_id or p.id >= c.id or c.collected_at < p.collected_at`,
    )
    expect(parents!.bad).to.equal(0)
  })

  it('stores no CPR number in plain text in any column of any table', async () => {
    const cprs = [...new Set([...demoCitizens.map((c) => c.cpr), ...buildDemoPlan().donors.map((d) => d.cpr)])]
    expect(cprs.length).to.be.at.least(demoCitizens.length + 40)
    const forms = cprs.flatMap((cpr) => [cpr, `${cpr.slice(0, 6)}-${cpr.slice(6)}`])
    const textPatterns = forms.map((f) => `%${f}%`)
    const hexPatterns = forms.map((f) => `%${Buffer.from(f, 'ascii').toString('hex')}%`)

    /** Tables and columns of the current schema, optionally only `onlyTable`; returns "table.column: hits". */
    const scan = async (transaction?: Transaction, onlyTable?: string) => {
      const columns = await sequelize.query<{ table_name: string; column_name: string; data_type: string }>(
        `select c.table_name, c.column_name, c.data_type from information_schema.columns c
         join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
         where c.table_schema = current_schema() ${onlyTable ? 'and c.table_name = :onlyTable' : ''} order by 1, 2`,
        { type: QueryTypes.SELECT, replacements: { onlyTable }, transaction },
      )
      expect(columns.length).to.be.greaterThan(0)
      const hits: string[] = []
      for (const { table_name: table, column_name: column, data_type: type } of columns) {
        const q = (name: string) => `"${name.replace(/"/g, '""')}"`
        const condition =
          type === 'bytea'
            ? `encode(${q(column)}, 'escape') like any(array[:text]) or encode(${q(column)}, 'hex') like any(array[:hex])`
            : `${q(column)}::text like any(array[:text])`
        const [row] = await sequelize.query<{ n: number }>(`select count(*)::int as n from ${q(table)} where ${condition}`, {
          type: QueryTypes.SELECT,
          replacements: { text: textPatterns, hex: hexPatterns },
          transaction,
        })
        if (row!.n > 0) hits.push(`${table}.${column}: ${row!.n}`)
      }
      return { hits, columns: columns.length }
    }

    // The scanner itself finds a number stored plainly, as text or as bytes (checked in a rolled-back transaction).
    const transaction = await sequelize.transaction()
    try {
      await sequelize.query('create table cpr_scan_probe (as_text text, as_bytes bytea, as_json jsonb)', { transaction })
      await sequelize.query(`insert into cpr_scan_probe values ('x 150372-4518 y', convert_to('1503724518', 'UTF8'), '{"cpr": "0202851237"}')`, { transaction })
      const probe = await scan(transaction, 'cpr_scan_probe')
      expect(probe.hits).to.have.members(['cpr_scan_probe.as_text: 1', 'cpr_scan_probe.as_bytes: 1', 'cpr_scan_probe.as_json: 1'])
    } finally {
      await transaction.rollback()
    }

    const { hits, columns } = await scan()
    expect(columns).to.be.greaterThan(50)
    expect(hits, 'columns holding a CPR number in plain text').to.deep.equal([])
  })

  it('does not seed a second time', async () => {
    expect(await seedDemoDataIfEmpty(services)).to.equal(false)
    expect(await counts()).to.deep.equal(seeded)
  })

  it('reloads to the same data set (same counts, same ids, labels, dates and places), ending stale sessions', async () => {
    const beforeData = await fingerprint()
    await sequelize.query(`insert into staff_users (issuer, subject, name, role, biobank_id) values ('dev', 'stine', 'Stine Sørensen', 'registrar', 1)`)
    const [{ sessions }] = (await select<{ sessions: boolean }>(`select to_regclass('sessions') is not null as sessions`)) as [{ sessions: boolean }]
    if (sessions) await sequelize.query(`insert into sessions (sid, sess, expire) values ('stale', '{"staffUserId": 1}', now() + interval '1 hour')`)
    await reloadDemoData(services)
    expect(await counts()).to.deep.equal(seeded)
    if (sessions) expect((await select<{ n: number }>('select count(*)::int as n from sessions'))[0]!.n, 'sessions left after reload').to.equal(0)
    expect(await fingerprint()).to.equal(beforeData)
    // A sample inserted without an id afterwards gets a fresh one (the identity sequences were moved on).
    const [row] = await select<{ id: number; max: number }>(
      `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature)
       values (1, 'RH-2026-999999', (select min(id) from donors), 'serum', now(), '-60to-85') returning id, (select max(id) from samples) as max`,
    )
    expect(row!.id).to.be.greaterThan(row!.max)
    await sequelize.query('delete from samples where id = :id', { replacements: { id: row!.id } })
  })

  it('seeds exactly once when two processes start on an empty database at the same time', async () => {
    await sequelize.query(`truncate ${DATA_TABLES.join(', ')} restart identity cascade`)
    const other = createSequelize(databaseUrl, 2)
    try {
      const otherServices = createServices(services.config, createLogger('silent'), other)
      const results = await Promise.all([seedDemoDataIfEmpty(services), seedDemoDataIfEmpty(otherServices)])
      expect(results.filter(Boolean)).to.have.length(1)
    } finally {
      await other.close()
    }
    expect(await counts()).to.deep.equal(seeded)
  })
})
