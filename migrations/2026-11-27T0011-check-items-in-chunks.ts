// An eligibility check's answer is stored in chunks of 50 positions, each a row of arrays (positions, labels,
// sample ids, outcomes), instead of one row per label. A 1,000,000-label check wrote a million rows, each its own
// WAL record, plus a million entries in a B-tree by sample id for the citizen's log: at 10,000,000 samples that
// was about 4 of the 8.5 s the check took (issue 6 asks for under 5 s). Now it writes 20,000 rows. A chunk stays
// under PostgreSQL's 2 kB TOAST threshold, so it is neither compressed nor moved out of line (both cost more
// than they save here); outcomes are one-letter codes for the same reason.
//
// The citizen's log ("your sample was considered for project X") finds a sample's chunks through a GIN index on
// the sample ids, in a table of its own (eligibility_check_samples) that the service fills after the check has
// committed: a million index entries cost about half a second, which the check no longer waits for. Until a check
// is indexed (seconds; after a crash, until the next check), the citizen's log reads that check's chunks directly,
// so no entry is ever missing. The index rows are derived from the chunks; losing them loses nothing.
//
// A large list is copied into an unlogged table of its own in the schema eligibility_work, created and dropped
// inside the check's transaction: unlike a temporary table, it can be read by parallel workers, so the deciding
// statement uses both cores.
//
// `eligibility_check_items` stays, as a view with one row per label and the outcomes' names, for reading a check
// label by label (the eligible list's download, auditors, tests).
import type { Migration } from '../server/db/migrator.ts'

/** Labels per chunk; the service writes chunks of the same size (CHECK_CHUNK). */
const CHUNK = 50

/** The outcome codes, as in the service (OUTCOME_CODES). */
const CODES: [string, string][] = [
  ['eligible', 'e'],
  ['excluded_material', 'm'],
  ['excluded_genetic', 'g'],
  ['not_available', 'n'],
  ['unknown', 'u'],
]

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    create table eligibility_check_chunks (
      check_id uuid not null,
      -- (position - 1) / ${CHUNK}: the chunk holds the labels first asked at those positions, in no particular order.
      chunk integer not null,
      positions integer[] not null,
      -- The labels at those positions, in the same order, one per line (a label has no line breaks); as asked, or
      -- masked when it is no sample and looks like a CPR number.
      labels text not null,
      -- null where the label is no sample of the biobank (the outcome is then 'u', unknown).
      sample_ids bigint[] not null,
      -- ${CODES.map(([name, code]) => `${code}: ${name}`).join(', ')}.
      outcomes "char"[] not null,
      primary key (check_id, chunk),
      check (cardinality(positions) between 1 and ${CHUNK}),
      check (cardinality(string_to_array(labels, E'\\n')) = cardinality(positions)
             and cardinality(sample_ids) = cardinality(positions) and cardinality(outcomes) = cardinality(positions)),
      check (outcomes <@ array[${CODES.map(([, code]) => `'${code}'`).join(', ')}]::"char"[]),
      -- As before, per label: no sample exactly when the outcome is unknown.
      check (array_positions(sample_ids, null) = array_positions(outcomes, 'u'))
    );
    create trigger eligibility_check_chunks_append_only before update or delete on eligibility_check_chunks
      for each row execute function refuse_change();
    revoke update, delete, truncate on eligibility_check_chunks from registry_app;

    insert into eligibility_check_chunks (check_id, chunk, positions, labels, sample_ids, outcomes)
    select check_id, (position - 1) / ${CHUNK}, array_agg(position order by position), string_agg(label, E'\\n' order by position),
           array_agg(sample_id order by position),
           array_agg((case outcome ${CODES.map(([name, code]) => `when '${name}' then '${code}'`).join(' ')} end)::"char" order by position)
      from eligibility_check_items group by check_id, (position - 1) / ${CHUNK};
    drop table eligibility_check_items;

    create view eligibility_check_items as
    select c.check_id, i.position, i.label, i.sample_id,
           case i.outcome ${CODES.map(([name, code]) => `when '${code}' then '${name}'`).join(' ')} end as outcome
      from eligibility_check_chunks c
     cross join lateral unnest(c.positions, string_to_array(c.labels, E'\\n'), c.sample_ids, c.outcomes) as i (position, label, sample_id, outcome);
    revoke insert, update, delete, truncate on eligibility_check_items from registry_app;

    -- The sample ids of each chunk, for the citizen's log, written once a check has committed.
    create table eligibility_check_samples (
      check_id uuid not null,
      chunk integer not null,
      sample_ids bigint[] not null,
      primary key (check_id, chunk),
      foreign key (check_id, chunk) references eligibility_check_chunks (check_id, chunk)
    );
    create index eligibility_check_samples_by_sample on eligibility_check_samples using gin (sample_ids);
    create trigger eligibility_check_samples_append_only before update or delete on eligibility_check_samples
      for each row execute function refuse_change();
    revoke update, delete, truncate on eligibility_check_samples from registry_app;
    insert into eligibility_check_samples (check_id, chunk, sample_ids) select check_id, chunk, sample_ids from eligibility_check_chunks;

    -- Merges the pending list of the GIN index into the index (the service does, after indexing checks). Runs as
    -- the owner (security definer), which gin_clean_pending_list requires; returns the number of pages merged.
    create function clean_check_index() returns bigint language sql security definer set search_path = public as $$
      select gin_clean_pending_list('eligibility_check_samples_by_sample'::regclass)
    $$;
    revoke execute on function clean_check_index() from public;
    grant execute on function clean_check_index() to registry_app;

    create schema eligibility_work;
    grant usage, create on schema eligibility_work to registry_app;

    select clean_check_index();
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    drop schema eligibility_work cascade;
    drop function clean_check_index();
    drop table eligibility_check_samples;
    drop view eligibility_check_items;
    create table eligibility_check_items (
      check_id uuid not null,
      position integer not null,
      label text not null,
      sample_id bigint,
      outcome text not null check (outcome in (${CODES.map(([name]) => `'${name}'`).join(', ')})),
      check ((sample_id is null) = (outcome = 'unknown'))
    );
    insert into eligibility_check_items
    select c.check_id, i.position, i.label, i.sample_id, case i.outcome ${CODES.map(([name, code]) => `when '${code}' then '${name}'`).join(' ')} end
      from eligibility_check_chunks c
     cross join lateral unnest(c.positions, string_to_array(c.labels, E'\\n'), c.sample_ids, c.outcomes) as i (position, label, sample_id, outcome);
    create index eligibility_check_items_by_check on eligibility_check_items using brin (check_id) with (pages_per_range = 16, autosummarize = on);
    create index eligibility_check_items_by_sample on eligibility_check_items (sample_id) where sample_id is not null;
    create trigger eligibility_check_items_append_only before update or delete on eligibility_check_items
      for each row execute function refuse_change();
    drop table eligibility_check_chunks;
  `)
}
