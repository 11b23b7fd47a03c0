// An eligibility check's answer is stored in chunks of 1,000 positions, each holding arrays (positions, labels,
// sample ids, outcomes), instead of one row per label. A 1,000,000-label check wrote a million rows, each its own
// WAL record, plus a million entries in a B-tree by sample id for the citizen's log: at 10,000,000 samples that
// was about 4 of the 8.5 s the check took (issue 6 asks for under 5 s). Now it writes a thousand rows, which the
// TOAST storage compresses.
//
// The citizen's log ("your sample was considered for project X") finds a sample's chunks through a GIN index on
// the sample ids. With `fastupdate`, a check's new entries go to the index's pending list, which every search reads
// too; the service merges the list into the index after the check has committed (clean_check_index), and
// autovacuum does so anyway. The pending list may hold several large checks (gin_pending_list_limit), so a
// check never waits for a merge.
//
// `eligibility_check_items` stays, as a view with one row per label, for reading a check label by label (the
// eligible list's download, auditors, tests).
import type { Migration } from '../server/db/migrator.ts'

/** Labels per chunk; the service writes chunks of the same size (CHECK_CHUNK). */
const CHUNK = 1000

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    create table eligibility_check_chunks (
      check_id uuid not null,
      -- (position - 1) / ${CHUNK}: the chunk holds the labels first asked at those positions, in no particular order.
      chunk integer not null,
      positions integer[] not null,
      labels text[] not null,
      -- null where the label is no sample of the biobank (the outcome is then 'unknown').
      sample_ids bigint[] not null,
      outcomes text[] not null,
      primary key (check_id, chunk),
      check (cardinality(positions) between 1 and ${CHUNK}),
      check (cardinality(labels) = cardinality(positions) and cardinality(sample_ids) = cardinality(positions)
             and cardinality(outcomes) = cardinality(positions)),
      check (outcomes <@ array['eligible', 'excluded_material', 'excluded_genetic', 'not_available', 'unknown']),
      -- As before, per label: no sample exactly when the outcome is 'unknown'.
      check (array_positions(sample_ids, null) = array_positions(outcomes, 'unknown'))
    );
    create index eligibility_check_chunks_by_sample on eligibility_check_chunks using gin (sample_ids)
      with (fastupdate = on, gin_pending_list_limit = 262144);
    create trigger eligibility_check_chunks_append_only before update or delete on eligibility_check_chunks
      for each row execute function refuse_change();
    revoke update, delete, truncate on eligibility_check_chunks from registry_app;

    insert into eligibility_check_chunks (check_id, chunk, positions, labels, sample_ids, outcomes)
    select check_id, (position - 1) / ${CHUNK}, array_agg(position), array_agg(label), array_agg(sample_id), array_agg(outcome)
      from eligibility_check_items group by check_id, (position - 1) / ${CHUNK};
    drop table eligibility_check_items;

    create view eligibility_check_items as
    select c.check_id, i.position, i.label, i.sample_id, i.outcome
      from eligibility_check_chunks c
     cross join lateral unnest(c.positions, c.labels, c.sample_ids, c.outcomes) as i (position, label, sample_id, outcome);
    revoke insert, update, delete, truncate on eligibility_check_items from registry_app;

    -- Merges the pending list of the index into the index. Runs as the owner (security definer), which
    -- gin_clean_pending_list requires; returns the number of pending pages merged.
    create function clean_check_index() returns bigint language sql security definer set search_path = public as $$
      select gin_clean_pending_list('eligibility_check_chunks_by_sample'::regclass)
    $$;
    revoke execute on function clean_check_index() from public;
    grant execute on function clean_check_index() to registry_app;
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    drop function clean_check_index();
    drop view eligibility_check_items;
    create table eligibility_check_items (
      check_id uuid not null,
      position integer not null,
      label text not null,
      sample_id bigint,
      outcome text not null check (outcome in ('eligible', 'excluded_material', 'excluded_genetic', 'not_available', 'unknown')),
      check ((sample_id is null) = (outcome = 'unknown'))
    );
    insert into eligibility_check_items
    select c.check_id, i.position, i.label, i.sample_id, i.outcome
      from eligibility_check_chunks c
     cross join lateral unnest(c.positions, c.labels, c.sample_ids, c.outcomes) as i (position, label, sample_id, outcome);
    create index eligibility_check_items_by_check on eligibility_check_items using brin (check_id) with (pages_per_range = 16, autosummarize = on);
    create index eligibility_check_items_by_sample on eligibility_check_items (sample_id) where sample_id is not null;
    create trigger eligibility_check_items_append_only before update or delete on eligibility_check_items
      for each row execute function refuse_change();
    drop table eligibility_check_chunks;
  `)
}
