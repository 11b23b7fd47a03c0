// The CSV import format (DOMAIN.md "CSV import format"): columns, the issues a file can have, and the template.

export const IMPORT_COLUMNS = [
  'sample_label',
  'donor_cpr',
  'material_type',
  'collected_at',
  'storage_temperature',
  'parent_label',
  'quantity',
  'quantity_unit',
  'storage_location',
  'sprec',
  'diagnosis',
  'availability',
] as const
export type ImportColumn = (typeof IMPORT_COLUMNS)[number]

export function isImportColumn(value: string): value is ImportColumn {
  return (IMPORT_COLUMNS as readonly string[]).includes(value)
}

/** Columns a row must fill in; the others are optional. */
export const REQUIRED_COLUMNS: readonly ImportColumn[] = ['sample_label', 'donor_cpr', 'material_type', 'collected_at', 'storage_temperature']

/**
 * One thing wrong with a file. `row` is the line in the file (the header is row 1), or null for the file as a whole;
 * `column` is the CSV column, or null for the whole row. `code` names the reason (see messages.ts); `detail` is a
 * value the reason needs (a row number, a column list, a label), never a CPR number.
 */
export interface ImportIssue {
  row: number | null
  column: ImportColumn | null
  code: string
  detail?: string | null
}

/** The file-level reasons (row null). */
export type FileIssueCode =
  | 'file.empty'
  | 'file.encoding'
  | 'file.header_none'
  | 'file.header_missing'
  | 'file.header_unknown'
  | 'file.header_duplicate'
  | 'file.csv'
  | 'file.no_rows'
  | 'file.conflict'

/** Thrown while reading a file that cannot be read any further (wrong header, not UTF-8, broken quoting). */
export class ImportFileError extends Error {
  constructor(readonly issues: ImportIssue[]) {
    super(issues.map((issue) => issue.code).join(', '))
  }
}

export const fileIssue = (code: FileIssueCode, detail?: string): ImportIssue => ({ row: null, column: null, code, detail: detail ?? null })

/** The downloadable template: the header and one example row (a plainly fictitious person, born 1 January 1900). */
export function templateCsv(): string {
  const example = ['EKSEMPEL-0001', '010100-0000', 'whole-blood', '2026-01-15T09:30', '-60to-85', '', '4.5', 'mL', 'F01/R02/B03/P04', 'BLD-PED-A-N-N-N-D', 'C50.9', 'available']
  return `${IMPORT_COLUMNS.join(',')}\r\n${example.join(',')}\r\n`
}

/** The delimiter of a header line: a semicolon when it has more semicolons than commas (Danish Excel), else a comma. */
export function detectDelimiter(headerLine: string): ',' | ';' {
  let commas = 0
  let semicolons = 0
  for (const char of headerLine) {
    if (char === ',') commas++
    else if (char === ';') semicolons++
  }
  return semicolons > commas ? ';' : ','
}

/** Checks a header record: every column exactly once, in any order. Returns the column positions or the issues. */
export function readHeader(record: readonly string[]): { positions: Record<ImportColumn, number> } | { issues: ImportIssue[] } {
  // Not one known column: the first line is data (or something else), not a header; say that once.
  if (!record.some((raw) => isImportColumn(raw.trim().toLowerCase()))) return { issues: [fileIssue('file.header_none')] }
  const issues: ImportIssue[] = []
  const positions: Partial<Record<ImportColumn, number>> = {}
  record.forEach((raw, index) => {
    const name = raw.trim().toLowerCase()
    if (!isImportColumn(name)) {
      issues.push(fileIssue('file.header_unknown', name === '' ? `#${index + 1}` : name.slice(0, 40)))
    } else if (positions[name] !== undefined) {
      issues.push(fileIssue('file.header_duplicate', name))
    } else {
      positions[name] = index
    }
  })
  for (const column of IMPORT_COLUMNS) if (positions[column] === undefined) issues.push(fileIssue('file.header_missing', column))
  return issues.length > 0 ? { issues } : { positions: positions as Record<ImportColumn, number> }
}
