// The items of an eligibility check are written in one statement, so they lie together in the table, and check
// ids (UUIDv7) grow with time: a BRIN index finds a check's rows at a fraction of the cost of the B-tree it
// replaces. That B-tree (check_id, position) got its million entries of a large check in random order, which
// measured about 4 s of the 10 s a million-label check took at 10,000,000 samples; reading a check's eligible
// labels now sorts them by position instead (about 1 s for a million). `autosummarize` lets autovacuum summarise
// new ranges as they fill, so a scan need not read every page that is not summarised yet.
import type { Migration } from '../server/db/migrator.ts'

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    drop index eligibility_check_items_eligible;
    create index eligibility_check_items_by_check on eligibility_check_items using brin (check_id) with (pages_per_range = 16, autosummarize = on);
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    drop index eligibility_check_items_by_check;
    create index eligibility_check_items_eligible on eligibility_check_items (check_id, position) where outcome = 'eligible';
  `)
}
