// The eligibility check (server/services/eligibilityService.ts) looks up a million labels of one biobank at once.
// With the unique (biobank_id, label) index carrying the sample's id, donor and availability, that lookup is an
// index-only scan of the biobank's slice of the index instead of a read of the whole samples table (at 10,000,000
// samples: about 190 MB of index against 1.9 GB of rows). Same name, same uniqueness, same columns as key.
//
// On a large production table, build the new index by hand first (`create unique index concurrently ...`, then
// swap the constraint with `alter table ... add constraint ... unique using index ...`).
import type { Migration } from '../server/db/migrator.ts'

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    alter table samples
      drop constraint samples_label_per_biobank,
      add constraint samples_label_per_biobank unique (biobank_id, label) include (id, donor_id, availability);
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    alter table samples
      drop constraint samples_label_per_biobank,
      add constraint samples_label_per_biobank unique (biobank_id, label);
  `)
}
