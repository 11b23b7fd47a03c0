// The import's validation across rows and against the database, set-based over the staging table: each rule is one
// query that writes (row, column, reason) into import_errors. The checks of a row on its own were made while the
// file streamed in (rowCheck.ts); the first rule here turns those into issues too.
import type pg from 'pg'
import { RECORD_SEPARATOR, UNIT_SEPARATOR } from './stage.ts'

export const ERRORS_TABLE = `create temp table import_errors (row_no integer, col text, code text not null, detail text) on commit drop`

/** Positions that hold a sample (the rest have given theirs up), as in the unique index on samples. */
const STORED = `('available', 'reserved')`

/** The registered sample's values against the file's, column by column (detail: the columns that differ). */
const differs = [
  ['donor_cpr', 'd.cpr_hmac is distinct from r.cpr_hmac'],
  ['material_type', 's.material_type is distinct from r.material_type'],
  ['collected_at', 's.collected_at is distinct from r.collected_at'],
  ['storage_temperature', 's.storage_temperature is distinct from r.storage_temperature'],
  ['parent_label', 'p.label is distinct from r.parent_label'],
  ['quantity', 's.quantity is distinct from r.quantity'],
  ['quantity_unit', 's.quantity_unit is distinct from r.quantity_unit'],
  ['storage_location', 's.storage_location is distinct from r.storage_location'],
  ['sprec', 's.sprec is distinct from r.sprec'],
  ['diagnosis', 's.diagnosis is distinct from r.diagnosis'],
  ['availability', 's.availability is distinct from r.availability'],
] as const

export interface Rule {
  name: string
  sql: string
}

/** Every rule, in the order they run. $1 is the biobank id. */
export const rules: Rule[] = [
  {
    name: 'row on its own',
    sql: `insert into import_errors (row_no, col, code, detail)
      select r.row_no, nullif(split_part(p, E'${UNIT_SEPARATOR}', 1), ''), split_part(p, E'${UNIT_SEPARATOR}', 2),
             nullif(split_part(p, E'${UNIT_SEPARATOR}', 3), '')
      from import_rows r cross join lateral string_to_table(r.problems, E'${RECORD_SEPARATOR}') as p
      where r.problems is not null`,
  },
  {
    // Dates without an offset are Danish time (the transaction's time zone), so a date is the Danish calendar day.
    name: 'collected in the future or before birth',
    sql: `insert into import_errors (row_no, col, code, detail)
      select r.row_no, 'collected_at', case when r.collected_at > now() then 'date.future' else 'date.before_birth' end, null
      from import_rows r
      where r.collected_at > now() or r.collected_at::date < r.birth_date`,
  },
  {
    // The first row with a label keeps it; every later one is reported with the row it repeats.
    name: 'label twice in file',
    sql: `insert into import_errors (row_no, col, code, detail)
      select r.row_no, 'sample_label', 'label.duplicate', d.first_row::text
      from import_rows r
      join (select sample_label, min(row_no) as first_row from import_rows where sample_label is not null
            group by sample_label having count(*) > 1) d on d.sample_label = r.sample_label
      where r.row_no > d.first_row`,
  },
  {
    // Compared only when the row itself is sound (an invalid value is already reported, and would differ anyway).
    name: 'label registered with other content',
    sql: `insert into import_errors (row_no, col, code, detail)
      select r.row_no, 'sample_label', 'label.exists_different',
             concat_ws(', ', ${differs.map(([column, test]) => `case when ${test} then '${column}' end`).join(', ')})
      from import_rows r
      join samples s on s.biobank_id = $1 and s.label = r.sample_label
      join donors d on d.id = s.donor_id
      left join samples p on p.id = s.parent_id
      where r.problems is null and (${differs.map(([, test]) => test).join(' or ')})`,
  },
  {
    // A parent is a sample of this biobank, or a row earlier in the file; either way the same donor's.
    name: 'parent',
    sql: `insert into import_errors (row_no, col, code, detail)
      select x.row_no, 'parent_label',
             case when x.db_id is null and x.file_row is null then 'parent.missing'
                  when x.db_id is null and x.file_row > x.row_no then 'parent.later'
                  else 'parent.other_donor' end,
             case when x.db_id is null and x.file_row > x.row_no then x.file_row::text end
      from (
        select r.row_no, r.cpr_hmac, ps.id as db_id, pd.cpr_hmac as db_hmac, pf.first_row as file_row, pf.cpr_hmac as file_hmac
        from import_rows r
        left join samples ps on ps.biobank_id = $1 and ps.label = r.parent_label
        left join donors pd on pd.id = ps.donor_id
        left join (
          select distinct on (f.sample_label) f.sample_label, f.row_no as first_row, f.cpr_hmac
          from import_rows f
          where f.sample_label in (select parent_label from import_rows where parent_label is not null)
          order by f.sample_label, f.row_no
        ) pf on pf.sample_label = r.parent_label
        where r.parent_label is not null
      ) x
      where (x.db_id is null and (x.file_row is null or x.file_row > x.row_no))
         or (x.cpr_hmac is not null and x.db_id is not null and x.db_hmac <> x.cpr_hmac)
         or (x.cpr_hmac is not null and x.db_id is null and x.file_row < x.row_no and x.file_hmac <> x.cpr_hmac)`,
  },
  {
    // Another sample of the biobank holds the position (a row for the same sample keeps its own place).
    name: 'storage location taken',
    sql: `insert into import_errors (row_no, col, code, detail)
      select r.row_no, 'storage_location', 'location.taken', s.label
      from import_rows r
      join samples s on s.biobank_id = $1 and s.storage_location = r.storage_location
        and s.storage_location is not null and s.availability in ${STORED}
      where r.storage_location is not null and r.availability in ${STORED} and s.label is distinct from r.sample_label`,
  },
  {
    name: 'storage location twice in file',
    sql: `insert into import_errors (row_no, col, code, detail)
      select r.row_no, 'storage_location', 'location.duplicate', d.first_row::text
      from import_rows r
      join (select storage_location, min(row_no) as first_row from import_rows
            where storage_location is not null and availability in ${STORED}
            group by storage_location having count(*) > 1) d on d.storage_location = r.storage_location
      where r.row_no > d.first_row and r.availability in ${STORED}`,
  },
]

export interface IssueRow {
  row_no: number | null
  col: string | null
  code: string
  detail: string | null
}

/** Runs every rule; returns the number of issues found. */
export async function runRules(client: pg.ClientBase, biobankId: number, onRule?: (name: string, milliseconds: number) => void): Promise<number> {
  for (const rule of rules) {
    const started = Date.now()
    await client.query(rule.sql, rule.sql.includes('$1') ? [biobankId] : [])
    onRule?.(rule.name, Date.now() - started)
  }
  const { rows } = await client.query<{ count: number }>('select count(*)::int as count from import_errors')
  return rows[0]!.count
}
