// Indexes for finding samples (server/services/searchService.ts). The search lists a biobank's samples newest
// collected first, by keyset on (collected_at desc, id desc), optionally of one material type and within dates.
// With the biobank (and the material type) leading, each page is one index range read in order and stops after
// 51 entries, however many million rows the biobank holds; `availability` is included so that filter, too, is
// answered from the index (an index-only scan) without visiting rows that fail it. Label and donor searches use
// the existing unique (biobank_id, label) and samples_by_donor indexes.
//
// On a large production table, build these by hand with `create index concurrently` (outside a transaction)
// before deploying; `if not exists` then makes this migration a no-op.
import type { Migration } from '../server/db/migrator.ts'

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    create index if not exists samples_search_by_date
      on samples (biobank_id, collected_at desc, id desc) include (availability);
    create index if not exists samples_search_by_material
      on samples (biobank_id, material_type, collected_at desc, id desc) include (availability);
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query('drop index if exists samples_search_by_material, samples_search_by_date')
}
