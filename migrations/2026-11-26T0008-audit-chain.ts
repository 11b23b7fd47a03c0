// A tamper-evident audit trail, and an application role that cannot rewrite history.
//
// Hash chain: every audit event stores the hash of the previous event of its chain and its own hash
// (sha256 over the previous hash and a canonical JSON of the event), so changing, removing or reordering an
// event breaks every later link. There are 64 chains, not one: the chain is chosen by the writing connection
// (backend pid), and the chain's head row is the only lock a writer takes, so writers on different connections
// never wait for each other (the opt-out target is 1,000 durable changes a second). A BEFORE INSERT trigger
// links each event, so no code path can write an unlinked event; `npm run audit:verify` walks every chain.
//
// Application role: the web app connects as `registry_app` (SET ROLE through the connection options). It may
// read and write the registry, but it cannot UPDATE or DELETE audit, sample or opt-out events, nor touch the
// chain heads; the append-only triggers refuse it as well, for anyone.
import type { Migration } from '../server/db/migrator.ts'

export const AUDIT_CHAINS = 64

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    create table audit_chain_heads (
      chain smallint primary key check (chain >= 0 and chain < ${AUDIT_CHAINS}),
      seq bigint not null,
      hash bytea not null check (length(hash) = 32)
    );
    -- Each chain starts from a fixed, public genesis hash.
    insert into audit_chain_heads (chain, seq, hash)
      select g, 0, sha256(convert_to('biobank-registry audit chain ' || g, 'UTF8')) from generate_series(0, ${AUDIT_CHAINS - 1}) g;

    alter table audit_events
      add column chain smallint,
      add column chain_seq bigint,
      add column prev_hash bytea,
      add column hash bytea;

    -- The canonical form of an event: a JSON array of every column but the hashes, times in UTC to the microsecond.
    create function audit_event_canonical(e audit_events) returns text language sql stable as $$
      select jsonb_build_array(
        e.id, e.chain, e.chain_seq, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.actor_kind, e.actor_staff_id, e.actor_donor_id, e.action, e.subject_donor_id, e.sample_id, e.details, e.request_id
      )::text
    $$;

    -- Runs as the owner (security definer), so the application role needs no right to the chain heads.
    create function audit_chain_link() returns trigger language plpgsql security definer set search_path = public as $$
    declare
      head audit_chain_heads%rowtype;
    begin
      new.chain := pg_backend_pid() % ${AUDIT_CHAINS};
      select * into head from audit_chain_heads where chain = new.chain for update;
      new.chain_seq := head.seq + 1;
      new.prev_hash := head.hash;
      new.hash := sha256(new.prev_hash || convert_to(audit_event_canonical(new), 'UTF8'));
      update audit_chain_heads set seq = new.chain_seq, hash = new.hash where chain = new.chain;
      return new;
    end $$;

    -- Events written before this migration join chain 0 in id order.
    alter table audit_events disable trigger audit_events_append_only;
    do $$
    declare
      r audit_events%rowtype;
      head audit_chain_heads%rowtype;
    begin
      for r in select * from audit_events order by id loop
        select * into head from audit_chain_heads where chain = 0;
        r.chain := 0;
        r.chain_seq := head.seq + 1;
        r.prev_hash := head.hash;
        r.hash := sha256(r.prev_hash || convert_to(audit_event_canonical(r), 'UTF8'));
        update audit_events set chain = r.chain, chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash where id = r.id;
        update audit_chain_heads set seq = r.chain_seq, hash = r.hash where chain = 0;
      end loop;
    end $$;
    alter table audit_events enable trigger audit_events_append_only;

    alter table audit_events
      alter column chain set not null, alter column chain_seq set not null,
      alter column prev_hash set not null, alter column hash set not null,
      add constraint audit_events_chain_link unique (chain, chain_seq);
    create trigger audit_events_chain before insert on audit_events for each row execute function audit_chain_link();
    -- The auditor's search: newest first, by action.
    create index audit_events_by_time on audit_events (occurred_at desc, id desc);
    create index audit_events_by_action on audit_events (action, occurred_at desc);

    do $$
    begin
      if not exists (select from pg_roles where rolname = 'registry_app') then
        create role registry_app nologin;
      end if;
    end $$;
    grant registry_app to current_user;
    grant usage on schema public to registry_app;
    grant select, insert, update, delete on all tables in schema public to registry_app;
    revoke update, delete, truncate on audit_events, sample_events, opt_out_events from registry_app;
    revoke insert, update, delete, truncate on audit_chain_heads from registry_app;
    grant usage, select on all sequences in schema public to registry_app;
    -- Tables of later migrations are the app's to use as well, unless that migration says otherwise.
    alter default privileges in schema public grant select, insert, update, delete on tables to registry_app;
    alter default privileges in schema public grant usage, select on sequences to registry_app;
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    alter default privileges in schema public revoke select, insert, update, delete on tables from registry_app;
    alter default privileges in schema public revoke usage, select on sequences from registry_app;
    revoke all on all tables in schema public from registry_app;
    revoke all on all sequences in schema public from registry_app;
    revoke usage on schema public from registry_app;
    drop trigger audit_events_chain on audit_events;
    drop function audit_chain_link();
    drop function audit_event_canonical(audit_events);
    drop index audit_events_by_time, audit_events_by_action;
    alter table audit_events drop constraint audit_events_chain_link,
      drop column chain, drop column chain_seq, drop column prev_hash, drop column hash;
    drop table audit_chain_heads;
  `)
}
