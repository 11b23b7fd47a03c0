// The database itself enforces the model: vocabularies, lineage, one sample per freezer position, append-only logs.
import { expect } from 'chai'
import pg from 'pg'
import { createTestDatabase } from '../support/testDatabase.ts'
import { MATERIAL_TYPE_CODES, STORAGE_TEMPERATURE_CODES, AVAILABILITY_CODES, QUANTITY_UNIT_CODES, SAMPLE_EVENT_TYPE_CODES } from '../../server/domain/vocabulary.ts'

describe('database schema', () => {
  let client: pg.Client
  let donorA: number
  let donorB: number
  let biobank: number
  let counter = 0

  before(async () => {
    client = new pg.Client({ connectionString: await createTestDatabase() })
    await client.connect()
    biobank = (await client.query<{ id: number }>("select id from biobanks where code = 'RH'")).rows[0]!.id
    const donor = async (byte: number) =>
      (await client.query<{ id: number }>("insert into donors (cpr_hmac, cpr_encrypted, birth_date) values ($1, '\\x00', '1980-01-01') returning id", [Buffer.alloc(32, byte)])).rows[0]!.id
    donorA = await donor(0xa1)
    donorB = await donor(0xb2)
  })
  after(async () => client.end())

  /** Inserts a sample; `fields` override the defaults. Resolves to its id, or rejects with the database's refusal. */
  async function insertSample(fields: Record<string, unknown> = {}): Promise<number> {
    const row: Record<string, unknown> = {
      biobank_id: biobank,
      label: `SCHEMA-${++counter}`,
      donor_id: donorA,
      material_type: 'serum',
      collected_at: '2024-01-01T10:00:00Z',
      storage_temperature: '-60to-85',
      ...fields,
    }
    const columns = Object.keys(row)
    const { rows } = await client.query<{ id: number }>(
      `insert into samples (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
      Object.values(row),
    )
    return rows[0]!.id
  }
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: { code?: string }) => error.code)

  it('accepts every code of the vocabularies in server/domain and refuses any other', async () => {
    for (const code of MATERIAL_TYPE_CODES) await insertSample({ material_type: code })
    for (const code of STORAGE_TEMPERATURE_CODES) await insertSample({ storage_temperature: code })
    for (const code of AVAILABILITY_CODES) await insertSample({ availability: code })
    for (const code of QUANTITY_UNIT_CODES) await insertSample({ quantity: 1.5, quantity_unit: code })
    expect(await refusal(insertSample({ material_type: 'blood' }))).to.equal('23514')
    expect(await refusal(insertSample({ storage_temperature: '-20' }))).to.equal('23514')
    expect(await refusal(insertSample({ availability: 'lost' }))).to.equal('23514')
    expect(await refusal(insertSample({ quantity: 1, quantity_unit: 'l' }))).to.equal('23514')
    expect(await refusal(insertSample({ quantity: 1 }))).to.equal('23514') // a quantity needs its unit
    expect(await refusal(insertSample({ label: 'has space' }))).to.equal('23514')
    expect(await refusal(insertSample({ label: 'L'.repeat(65) }))).to.equal('23514')
    await insertSample({ label: 'L'.repeat(64) })
    expect(await refusal(insertSample({ sprec: 'SER-SST' }))).to.equal('23514')
    const sample = await insertSample()
    for (const type of SAMPLE_EVENT_TYPE_CODES) await client.query("insert into sample_events (sample_id, event_type, occurred_at) values ($1, $2, now())", [sample, type])
    expect(await refusal(client.query("insert into sample_events (sample_id, event_type, occurred_at) values ($1, 'lost', now())", [sample]))).to.equal('23514')
  })

  it('keeps labels unique per biobank', async () => {
    await insertSample({ label: 'SAME-LABEL' })
    expect(await refusal(insertSample({ label: 'SAME-LABEL' }))).to.equal('23505')
    const rm = (await client.query<{ id: number }>("select id from biobanks where code = 'RM'")).rows[0]!.id
    await insertSample({ label: 'SAME-LABEL', biobank_id: rm })
  })

  it('gives aliquots and derivatives a parent of the same donor, and primaries none', async () => {
    const parent = await insertSample({ material_type: 'whole-blood' })
    await insertSample({ material_type: 'plasma', lineage: 'aliquot', parent_id: parent })
    await insertSample({ material_type: 'dna', lineage: 'derivative', parent_id: parent })
    expect(await refusal(insertSample({ lineage: 'aliquot', parent_id: parent, donor_id: donorB }))).to.equal('23503')
    expect(await refusal(insertSample({ lineage: 'aliquot' }))).to.equal('23514')
    expect(await refusal(insertSample({ lineage: 'primary', parent_id: parent }))).to.equal('23514')
  })

  it('allows one stored sample per storage position, and frees it when the sample leaves', async () => {
    const first = await insertSample({ storage_location: 'F1/R1/B1/A1' })
    expect(await refusal(insertSample({ storage_location: 'F1/R1/B1/A1' }))).to.equal('23505')
    await client.query("update samples set availability = 'distributed' where id = $1", [first])
    await insertSample({ storage_location: 'F1/R1/B1/A1' })
    expect(await refusal(insertSample({ storage_location: 'freezer-without-position' }))).to.equal('23514')
    expect(await refusal(insertSample({ storage_location: `F1/R1/${'B'.repeat(33)}/A1` }))).to.equal('23514')
  })

  it('refuses to change or delete audit events, sample events and opt-out events', async () => {
    await client.query("insert into audit_events (actor_kind, action) values ('system', 'test.event')")
    const sample = await insertSample()
    await client.query("insert into sample_events (sample_id, event_type, occurred_at) values ($1, 'received', now())", [sample])
    for (const [table, column] of [['audit_events', 'details'], ['sample_events', 'details']]) {
      expect(await refusal(client.query(`update ${table} set ${column} = '{"changed": true}'`))).to.equal('42501')
      expect(await refusal(client.query(`delete from ${table}`))).to.equal('42501')
    }
    await client.query(
      "insert into opt_out_events (donor_id, choice, opted_out, channel, acted_by, receipt_reference, material_after, genetic_after) values ($1, 'genetic', true, 'digital', 'self', 'VAR-SCHEMA-1', false, true)",
      [donorA],
    )
    expect(await refusal(client.query('delete from opt_out_events'))).to.equal('42501')
  })

  it('has the indexes the look-ups need: by donor, by biobank and label, by parent', async () => {
    const { rows } = await client.query<{ indexdef: string }>("select indexdef from pg_indexes where tablename = 'samples'")
    const defs = rows.map((r) => r.indexdef).join('\n')
    expect(defs).to.match(/\(donor_id\)/)
    expect(defs).to.match(/\(biobank_id, label\)/)
    expect(defs).to.match(/\(parent_id\)/)
  })
})
