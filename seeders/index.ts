// Demo data: the five regional biobanks, the demo citizens of demoPeople.ts with their samples, opt-outs and custody,
// and ~40 further fictitious donors with a few hundred samples. Deterministic (seeded PRNG, fixed dates), except the
// ciphertexts (fresh IVs) and the created_at/recorded_at stamps. Staff users are not seeded: they are created at login.
import type { Transaction } from 'sequelize'
import type { Services } from '../server/services/index.ts'
import { buildDemoPlan } from './demoPlan.ts'
import { writePlan } from './writePlan.ts'

/** Any number; it only has to be the same in every process that seeds this database. */
const SEED_LOCK_ID = 7_204_512

const DATA_TABLES = ['biobanks', 'donors', 'staff_users', 'samples', 'sample_events', 'opt_outs', 'opt_out_events', 'custody', 'audit_events']

async function lock(services: Services, transaction: Transaction): Promise<void> {
  await services.database.sequelize.query('select pg_advisory_xact_lock(:id)', { replacements: { id: SEED_LOCK_ID }, transaction })
}

/** Loads the demo data into an empty, migrated database, in one transaction. */
export async function seedDemoData(services: Services): Promise<void> {
  await services.database.sequelize.transaction(async (transaction) => {
    await lock(services, transaction)
    await writePlan(services, buildDemoPlan(), transaction)
  })
}

/** Loads the demo data unless there are biobanks already; true when it did. Safe when two processes start at once. */
export async function seedDemoDataIfEmpty(services: Services): Promise<boolean> {
  const { sequelize, models } = services.database
  return sequelize.transaction(async (transaction) => {
    await lock(services, transaction)
    // Checked again under the lock: the other process may have seeded while we waited.
    if ((await models.Biobank.count({ transaction })) > 0) return false
    await writePlan(services, buildDemoPlan(), transaction)
    return true
  })
}

/**
 * Empties the data tables and loads the demo data again; the CLI refuses production. Tables that refer to these are
 * emptied too (cascade); tables a migration fills with reference data, and the migration log, are left alone.
 * Web sessions go too: after `restart identity` a stale session could name another person's new row.
 */
export async function reloadDemoData(services: Services): Promise<void> {
  const { sequelize } = services.database
  await sequelize.transaction(async (transaction) => {
    await lock(services, transaction)
    const [rows] = await sequelize.query(`select to_regclass('sessions') is not null as present`, { transaction })
    const sessions = (rows as { present: boolean }[])[0]?.present ? ['sessions'] : []
    await sequelize.query(`truncate ${[...DATA_TABLES, ...sessions].join(', ')} restart identity cascade`, { transaction })
    // A new audit trail starts every chain again from its genesis hash.
    await sequelize.query(`update audit_chain_heads set seq = 0, hash = sha256(convert_to('biobank-registry audit chain ' || chain, 'UTF8'))`, { transaction })
    await writePlan(services, buildDemoPlan(), transaction)
  })
}
