// The bulk generator on a real database (with the demo data already in it): exact counts, realistic shape, and
// repeated runs that never collide.
import { spawnSync } from 'node:child_process'
import { expect } from 'chai'
import { QueryTypes, type Sequelize } from 'sequelize'
import { createSequelize } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { parseCpr } from '../../server/domain/cpr.ts'
import { BIOBANK_CODES, MATERIAL_TYPE_CODES } from '../../server/domain/vocabulary.ts'
import { createServices, type Services } from '../../server/services/index.ts'
import { seedBulk, type BulkProgress, type SeedBulkResult } from '../../seeders/bulk.ts'
import { projectRoot } from '../../server/config.ts'
import { createTestDatabase, testConfig } from '../support/testDatabase.ts'

const N = 3000

describe('bulk synthetic data (seedBulk)', function () {
  this.timeout(60_000)

  let sequelize: Sequelize
  let services: Services
  let initial: Counts
  let first: SeedBulkResult
  const progress: BulkProgress[] = []

  interface Counts {
    donors: number
    samples: number
    events: number
    optOuts: number
    optOutEvents: number
  }

  const select = async <T extends object>(sql: string, replacements: Record<string, unknown> = {}): Promise<T[]> =>
    sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements })

  const counts = async (): Promise<Counts> =>
    (
      await select<Counts>(
        `select (select count(*)::int from donors) as donors, (select count(*)::int from samples) as samples,
                (select count(*)::int from sample_events) as events, (select count(*)::int from opt_outs) as "optOuts",
                (select count(*)::int from opt_out_events) as "optOutEvents"`,
      )
    )[0]!

  /** Samples of one run (labels BULK-<run>-…). */
  const runFilter = (run: SeedBulkResult) => ({ prefix: `BULK-${run.runId}-%` })

  let databaseUrl: string
  let indexesBefore: Record<string, string>

  /** Every index of the bulk-loaded tables, by name, as PostgreSQL would create it. */
  const indexes = async (): Promise<Record<string, string>> =>
    Object.fromEntries(
      (
        await select<{ name: string; definition: string }>(
          `select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as definition from pg_index
            where indrelid in ('samples'::regclass, 'sample_events'::regclass, 'donors'::regclass, 'opt_outs'::regclass, 'opt_out_events'::regclass)`,
        )
      ).map((i) => [i.name, i.definition]),
    )

  before(async () => {
    const url = (databaseUrl = await createTestDatabase())
    sequelize = createSequelize(url, 4)
    services = createServices(testConfig({ DATABASE_URL: url }), createLogger('silent'), sequelize)
    initial = await counts()
    indexesBefore = await indexes()
    first = await seedBulk(services, { samples: N, batch: 700, onProgress: (p) => progress.push(p) })
  })

  after(async () => {
    await sequelize?.close()
  })

  it('adds exactly the samples asked for, about one donor per eight samples, one event each', async () => {
    const now = await counts()
    expect(first.samples).to.equal(N)
    expect(now.samples - initial.samples).to.equal(N)
    expect(now.donors - initial.donors).to.equal(first.donors)
    expect(first.donors).to.be.within(N / 10, N / 6)
    expect(now.events - initial.events).to.equal(N)
    const [perDonor] = await select<{ donors: number }>('select count(distinct donor_id)::int as donors from samples where label like :prefix', runFilter(first))
    expect(perDonor!.donors).to.equal(first.donors)
  })

  it('makes about 20 % aliquots or derivatives, each of an earlier sample of the same donor in the same biobank', async () => {
    const [row] = await select<{ children: number; bad: number; derivatives: number }>(
      `select count(c.parent_id)::int as children, count(*) filter (where c.lineage = 'derivative')::int as derivatives,
              count(*) filter (where c.parent_id is not null and (p.id is null or p.donor_id <> c.donor_id or p.biobank_id <> c.biobank_id or p.id >= c.id
                                  or p.label not like :prefix or c.lineage = 'primary'))::int as bad
       from samples c left join samples p on p.id = c.parent_id where c.label like :prefix`,
      runFilter(first),
    )
    expect(row!.children / N).to.be.within(0.15, 0.25)
    expect(row!.derivatives).to.be.greaterThan(0)
    expect(row!.bad).to.equal(0)
  })

  it('spreads samples over all five biobanks and every material type, over the last 20 years', async () => {
    const biobanks = await select<{ code: string }>(
      'select distinct b.code from samples s join biobanks b on b.id = s.biobank_id where s.label like :prefix',
      runFilter(first),
    )
    expect(biobanks.map((b) => b.code)).to.have.members([...BIOBANK_CODES])
    const materials = await select<{ material_type: string }>('select distinct material_type from samples where label like :prefix', runFilter(first))
    expect(materials.map((m) => m.material_type)).to.have.members([...MATERIAL_TYPE_CODES])
    const [dates] = await select<{ old: number; future: number; before_birth: number }>(
      `select count(*) filter (where s.collected_at < now() - interval '20 years 1 day')::int as old,
              count(*) filter (where s.collected_at > now())::int as future,
              count(*) filter (where s.collected_at < d.birth_date)::int as before_birth
       from samples s join donors d on d.id = s.donor_id where s.label like :prefix`,
      runFilter(first),
    )
    expect(dates).to.deep.equal({ old: 0, future: 0, before_birth: 0 })
  })

  it('gives about 3 % of the donors an opt-out, with consistent receipted events', async () => {
    expect(first.optOuts).to.be.greaterThan(0)
    expect(first.optOuts / first.donors).to.be.within(0.005, 0.08)
    const [row] = await select<{ states: number; inconsistent: number }>(
      `select count(*)::int as states,
              count(*) filter (where (o.material, o.genetic) is distinct from (last.material_after, last.genetic_after) or not (o.material or o.genetic))::int as inconsistent
       from opt_outs o
       join lateral (select material_after, genetic_after from opt_out_events e where e.donor_id = o.donor_id order by e.id desc limit 1) last on true
       where o.donor_id in (select donor_id from samples where label like :prefix)`,
      runFilter(first),
    )
    expect(row!.states).to.equal(first.optOuts)
    expect(row!.inconsistent).to.equal(0)
    const events = await select<{ receipt_reference: string }>('select receipt_reference from opt_out_events')
    expect(new Set(events.map((e) => e.receipt_reference)).size).to.equal(events.length)
  })

  it('gives every donor a valid CPR number, stored only as HMAC and ciphertext', async () => {
    const donors = await select<{ cpr_hmac: Buffer; cpr_encrypted: Buffer; birth_date: string }>(
      'select cpr_hmac, cpr_encrypted, birth_date from donors where id in (select donor_id from samples where label like :prefix) limit 300',
      runFilter(first),
    )
    expect(donors.length).to.be.greaterThan(100)
    for (const donor of donors) {
      const cpr = services.cpr.decrypt(donor.cpr_encrypted)
      const parsed = parseCpr(cpr)
      expect(parsed.ok).to.equal(true)
      if (parsed.ok) expect(parsed.birthDate.toISOString().slice(0, 10)).to.equal(donor.birth_date)
      expect(services.cpr.hash(cpr).equals(donor.cpr_hmac)).to.equal(true)
      expect(donor.cpr_encrypted.toString('latin1')).not.to.include(cpr)
    }
  })

  it('reports progress up to the total of each phase', () => {
    const samples = progress.filter((p) => p.phase === 'samples')
    expect(samples.length).to.be.greaterThan(3)
    expect(samples.at(-1)).to.deep.equal({ phase: 'samples', done: N, total: N })
    expect(progress.at(-1)?.phase).to.equal('analyze')
  })

  it('adds another batch on a second run without colliding (labels, places, ids, CPR numbers)', async () => {
    const middle = await counts()
    const second = await seedBulk(services, { samples: N })
    expect(second.runId).not.to.equal(first.runId)
    const after = await counts()
    expect(after.samples - middle.samples).to.equal(N)
    expect(after.donors - middle.donors).to.equal(second.donors)
    const [dupes] = await select<{ labels: number; places: number; hmacs: number; public_ids: number }>(
      `select (select count(*)::int from (select biobank_id, label from samples group by 1, 2 having count(*) > 1) x) as labels,
              (select count(*)::int from (select biobank_id, storage_location from samples where storage_location is not null
                                           and availability in ('available', 'reserved') group by 1, 2 having count(*) > 1) x) as places,
              (select count(*)::int from (select cpr_hmac from donors group by 1 having count(*) > 1) x) as hmacs,
              (select count(*)::int from (select public_id from samples group by 1 having count(*) > 1) x) as public_ids`,
    )
    expect(dupes).to.deep.equal({ labels: 0, places: 0, hmacs: 0, public_ids: 0 })
    // The app's own inserts still get fresh ids after the reserved blocks.
    const [row] = await select<{ id: number; max: number }>(
      `insert into donors (cpr_hmac, cpr_encrypted, birth_date) values (:hmac, :enc, '1970-01-01') returning id, (select max(id) from donors) as max`,
      { hmac: services.cpr.hash('0101701234'), enc: services.cpr.encrypt('0101701234') },
    )
    expect(row!.id).to.be.greaterThan(row!.max)
  })

  it('builds the search and storage-place indexes again after a load that more than doubles the table, exactly as they were', async () => {
    expect(initial.samples).to.be.lessThan(N)
    expect(first.rebuiltIndexes).to.include.members(['samples_search_by_date', 'samples_search_by_material', 'samples_storage_location_in_use', 'sample_events_by_sample'])
    // Constraint indexes (keys, unique labels) stay up during the load.
    expect(first.rebuiltIndexes).not.to.include.members(['samples_pkey'])
    expect(first.rebuiltIndexes).not.to.include('samples_label_per_biobank')
    expect(await indexes()).to.deep.equal(indexesBefore)
    // And the planner uses them: the staff search of one biobank reads the rebuilt index.
    const plan = await select<{ 'QUERY PLAN': string }>(
      `explain select id from samples where biobank_id = (select min(id) from biobanks) order by collected_at desc, id desc limit 50`,
    )
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).to.contain('samples_search_by_date')
  })

  it('keeps the indexes up, row by row, during a load smaller than the table', async () => {
    const small = await seedBulk(services, { samples: 200 })
    expect(small.rebuiltIndexes).to.deep.equal([])
    expect(await indexes()).to.deep.equal(indexesBefore)
  })

  it('rolls the whole load back, indexes included, when an index it builds again finds a clash', async () => {
    const before = await counts()
    const [{ max }] = (await select<{ max: number }>('select max(id)::int as max from samples')) as [{ max: number }]
    // A unique index that backs no constraint and that the new rows will break: at most one sample per material type.
    await sequelize.query(`create unique index bulk_test_clash on samples (material_type) where id > ${max}`)
    try {
      let error: unknown
      try {
        await seedBulk(services, { samples: 300, rebuildIndexes: true })
      } catch (e) {
        error = e
      }
      expect(String(error)).to.match(/could not create unique index "bulk_test_clash"/)
      expect(await counts()).to.deep.equal(before)
      // Every dropped index is back, as it was (DDL is part of the transaction that rolled back).
      const { bulk_test_clash: clash, ...others } = await indexes()
      expect(clash).to.contain('bulk_test_clash')
      expect(others).to.deep.equal(indexesBefore)
    } finally {
      await sequelize.query('drop index if exists bulk_test_clash')
    }
  })

  it('refuses a count that is not a positive whole number', async () => {
    for (const samples of [0, -5, 1.5, Number.NaN]) {
      let error: unknown
      try {
        await seedBulk(services, { samples })
      } catch (e) {
        error = e
      }
      expect(error, String(samples)).to.be.instanceOf(RangeError)
    }
  })

  it('checks foreign keys row by row when it may not skip the triggers (no superuser)', async () => {
    const role = `bulk_test_${process.pid}`
    const password = 'bulk-test-password'
    await sequelize.query(`create role ${role} login password '${password}'`)
    const url = new URL(databaseUrl)
    url.username = role
    url.password = password
    const limited = createSequelize(url.toString(), 2)
    try {
      await sequelize.query(`grant select, insert, update on all tables in schema public to ${role}; grant usage, select, update on all sequences in schema public to ${role}`)
      const middle = await counts()
      const result = await seedBulk(createServices(services.config, createLogger('silent'), limited), { samples: 500 })
      expect(result.fastPath).to.equal(false)
      expect((await counts()).samples - middle.samples).to.equal(500)
    } finally {
      await limited.close()
      await sequelize.query(`drop owned by ${role}; drop role ${role}`)
    }
  })

  it('explains a bad --samples on the command line', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/seedBulk.ts', ...args], { cwd: projectRoot, encoding: 'utf8', timeout: 20_000 })
    for (const args of [['--samples', 'many'], ['--samples', '0'], [], ['--samples', '10', '--bogus']]) {
      const result = run(...args)
      expect(result.status, args.join(' ')).to.equal(2)
      expect(result.stderr, args.join(' ')).to.match(/^seed:bulk: .*--samples|^seed:bulk: .*bogus/m)
      expect(result.stderr).to.include('Usage: npm run seed:bulk -- --samples N')
    }
  })
})
