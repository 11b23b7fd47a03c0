// Research release that provably honours the VAR opt-out (issue 6): research projects, eligibility checks with
// their proof (the register version and the database snapshot they were decided on, a hash of the exact list
// asked about, one outcome per label), and the API keys of the integrations that ask for checks.
//
// A check and its items are append-only: they are the proof, and the citizen's "who has used my data" page reads
// them (eligibility_check_items.sample_id, .outcome, .check_id; eligibility_checks.id, .project_id, .created_at;
// research_projects.id, .title, .purpose). Vocabularies are written out here, as in the initial schema, because a
// migration is a snapshot of history.
import type { Migration } from '../server/db/migrator.ts'

const list = (codes: string[]) => codes.map((c) => `'${c}'`).join(', ')

const PURPOSES = ['material', 'genetic', 'both']
const DUO_CODES = ['NRES', 'GRU', 'HMB', 'DS', 'POA', 'NCU', 'NPUNCU', 'IRB', 'PUB', 'COL']
const OUTCOMES = ['eligible', 'excluded_material', 'excluded_genetic', 'not_available', 'unknown']
const SOURCES = ['list', 'file', 'search', 'api']

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    create table research_projects (
      id bigint generated always as identity primary key,
      biobank_id smallint not null references biobanks (id),
      title text not null check (length(title) between 1 and 300),
      reference text not null check (length(reference) between 1 and 100),
      -- The ethics approval, e.g. the number from De Videnskabsetiske Medicinske Komitéer (VEK).
      approval_id text not null check (length(approval_id) between 1 and 100),
      purpose text not null check (purpose in (${list(PURPOSES)})),
      -- A GA4GH Data Use Ontology code tagging the request; an opt-out excludes the person from all of them.
      duo_code text check (duo_code in (${list(DUO_CODES)})),
      created_by_staff_id bigint not null references staff_users (id),
      created_at timestamptz not null default now(),
      constraint research_projects_reference_per_biobank unique (biobank_id, reference)
    );

    -- An integration's key to POST /api/v1/eligibility, scoped to one biobank. Only the SHA-256 of the key is kept:
    -- the key is 32 random bytes, so a fast hash is as strong as a slow one, and lets the key be found by index.
    create table api_clients (
      id bigint generated always as identity primary key,
      biobank_id smallint not null references biobanks (id),
      name text not null check (length(name) between 1 and 100),
      key_hash bytea not null unique check (length(key_hash) = 32),
      -- The key's first characters, so an admin can tell keys apart; not enough to use it.
      key_prefix text not null check (length(key_prefix) between 4 and 16),
      created_by_staff_id bigint not null references staff_users (id),
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz,
      revoked_by_staff_id bigint references staff_users (id),
      check ((revoked_at is null) = (revoked_by_staff_id is null))
    );
    create index api_clients_by_biobank on api_clients (biobank_id, created_at);

    create table eligibility_checks (
      id uuid primary key,
      project_id bigint not null references research_projects (id),
      -- Who asked: a biobank admin on the web, or an integration with an API key.
      staff_user_id bigint references staff_users (id),
      api_client_id bigint references api_clients (id),
      source text not null check (source in (${list(SOURCES)})),
      -- The search criteria, when the list was a saved search.
      criteria jsonb,
      -- The project's purpose the check was decided for.
      purpose text not null check (purpose in (${list(PURPOSES)})),
      -- The start of the check's transaction: everything below was read in its one snapshot.
      created_at timestamptz not null default now(),
      requested_count integer not null check (requested_count >= 0),
      -- A label asked about twice is decided once (at its first position).
      duplicate_count integer not null check (duplicate_count >= 0),
      eligible_count integer not null check (eligible_count >= 0),
      excluded_material_count integer not null check (excluded_material_count >= 0),
      excluded_genetic_count integer not null check (excluded_genetic_count >= 0),
      not_available_count integer not null check (not_available_count >= 0),
      unknown_count integer not null check (unknown_count >= 0),
      -- The highest opt_out_events.id visible to the check's snapshot, and the snapshot itself (pg_current_snapshot()).
      register_version bigint not null check (register_version >= 0),
      snapshot text not null check (length(snapshot) between 5 and 100000),
      -- SHA-256 (hex) of the labels asked about, in order, each followed by a line feed.
      requested_sha256 text not null check (requested_sha256 ~ '^[0-9a-f]{64}$'),
      check ((staff_user_id is null) <> (api_client_id is null)),
      check ((source = 'api') = (api_client_id is not null)),
      check ((source = 'search') = (criteria is not null)),
      check (requested_count = duplicate_count + eligible_count + excluded_material_count + excluded_genetic_count + not_available_count + unknown_count)
    );
    create index eligibility_checks_by_project on eligibility_checks (project_id, created_at desc);
    create trigger eligibility_checks_append_only before update or delete on eligibility_checks
      for each row execute function refuse_change();

    -- One row per distinct label asked about, at the position (from 1) it was first asked. Sized for a million rows
    -- per check, so each row costs as little as it can: no foreign keys (per-row key checks would add a third to the
    -- check's time; the service writes the items in the check's own transaction, from the samples table), no
    -- primary key (the positions of a check are unique by construction: one row per distinct label), and only the
    -- checks that keep the proof meaningful. The eligible rows, which the CSV and the API read back in order, have
    -- their own index.
    create table eligibility_check_items (
      check_id uuid not null,
      position integer not null,
      -- As asked (at most 64 characters, checked by the service), or masked when it looked like a CPR number.
      label text not null,
      sample_id bigint,
      outcome text not null check (outcome in (${list(OUTCOMES)})),
      check ((sample_id is null) = (outcome = 'unknown'))
    );
    create index eligibility_check_items_eligible on eligibility_check_items (check_id, position) where outcome = 'eligible';
    -- The citizen's "who has used my data" reads a sample's checks.
    create index eligibility_check_items_by_sample on eligibility_check_items (sample_id) where sample_id is not null;
    create trigger eligibility_check_items_append_only before update or delete on eligibility_check_items
      for each row execute function refuse_change();
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    drop table eligibility_check_items, eligibility_checks, api_clients, research_projects;
  `)
}
