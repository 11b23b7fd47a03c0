// The citizen portal: the child's name as the CPR register supplies it with custody (a parent chooses a child
// by name, not by number), the name of whoever acted on an opt-out (shown in the child's history), and a
// one-time token per opt-out form so a double or back-button submission cannot register a change twice.
import type { Migration } from '../server/db/migrator.ts'

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    alter table custody add column child_name text not null default '' check (length(child_name) <= 200);
    alter table opt_out_events add column acted_by_name text check (length(acted_by_name) <= 200);
    alter table opt_out_events add column form_token uuid;
    create unique index opt_out_events_form_token on opt_out_events (donor_id, form_token) where form_token is not null;
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    drop index opt_out_events_form_token;
    alter table opt_out_events drop column form_token, drop column acted_by_name;
    alter table custody drop column child_name;
  `)
}
