// Web sessions live in PostgreSQL (connect-pg-simple), so any number of app processes can serve a user.
import type { Migration } from '../server/db/migrator.ts'

export const up: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query(`
    create table sessions (
      sid varchar not null primary key,
      sess json not null,
      expire timestamptz not null
    );
    create index sessions_by_expiry on sessions (expire);
  `)
}

export const down: Migration = async ({ context: queryInterface }) => {
  await queryInterface.sequelize.query('drop table sessions')
}
