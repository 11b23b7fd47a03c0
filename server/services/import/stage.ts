// Reading a CSV file into the TEMP staging table: the file is streamed from disk, checked to be UTF-8, split into
// records and written to PostgreSQL with COPY, never held in memory as a whole.
//
// - Records: csv-parse. A stretch of the file without any double quote cannot hold a quoted field, and csv-parse
//   splits it exactly as a plain split on line breaks and the delimiter would; that split is several times
//   faster, so quote-free stretches (the usual case) take it, and everything else goes through csv-parse.
// - The donor's CPR number is parsed here and leaves as its HMAC, its ciphertext (first row of a donor only) and
//   the birth date: the plain number reaches no table, not even the staging table.
// - The checks of a row on its own are made here too (rowCheck.ts); rules.ts checks rows against each other and
//   against the database, in SQL.
import fs from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { parse as parseCsv, CsvError } from 'csv-parse/sync'
import { from as copyFrom } from 'pg-copy-streams'
import type pg from 'pg'
import { parseCpr } from '../../domain/cpr.ts'
import type { CprProtector } from '../../domain/cprCrypto.ts'
import { RowChecker, type RowProblem } from './rowCheck.ts'
import { detectDelimiter, fileIssue, ImportFileError, readHeader } from './format.ts'

/**
 * The staging table: one row per data row of the file, with typed values (null when empty or invalid) and the
 * problems the row has on its own (problems: "column US code US detail" joined by RS, see rowCheck.ts). For a
 * real run, each row draws its sample id from the samples sequence as it is copied in, so a row can name a parent
 * anywhere before it in the file and the insert needs no second numbering pass (ids of rows not stored are gaps,
 * as after any rolled-back insert).
 */
export const stagingTable = (sampleIdSequence: string | null) => `
  create temp table import_rows (
    id bigint${sampleIdSequence ? ` default nextval('${sampleIdSequence.replace(/'/g, "''")}'::regclass)` : ''},
    row_no integer not null,
    sample_label text,
    cpr_hmac bytea,
    cpr_encrypted bytea,
    birth_date date,
    material_type text,
    collected_at timestamptz,
    storage_temperature text,
    parent_label text,
    quantity numeric,
    quantity_unit text,
    storage_location text,
    sprec text,
    diagnosis text,
    availability text,
    problems text
  ) on commit drop`

const COPY_STATEMENT = `copy import_rows (row_no, sample_label, cpr_hmac, cpr_encrypted, birth_date, material_type, collected_at,
  storage_temperature, parent_label, quantity, quantity_unit, storage_location, sprec, diagnosis, availability, problems) from stdin`

/** Separators of the problems column (ASCII unit and record separators; never in a detail, see rowCheck.ts). */
export const UNIT_SEPARATOR = '\x1f'
export const RECORD_SEPARATOR = '\x1e'

/** The longest record accepted (bytes); a quote that is never closed fails here instead of swallowing the file. */
const MAX_RECORD_SIZE = 64 * 1024
/** How much of the file is read to find the header line. */
const HEADER_PEEK = 64 * 1024
/** Distinct CPR numbers remembered at once (a donor's rows usually follow each other). */
const CPR_CACHE_SIZE = 50_000
const READ_CHUNK = 1 << 20
const NULL = '\\N'

export interface FilePeek {
  delimiter: ',' | ';'
}

/** First look at the file: empty, not UTF-8 at the start, and which delimiter its header line uses. */
export async function peekFile(path: string): Promise<FilePeek> {
  const handle = await fs.promises.open(path, 'r')
  let bytes: Buffer
  try {
    const buffer = Buffer.alloc(HEADER_PEEK)
    const { bytesRead } = await handle.read(buffer, 0, HEADER_PEEK, 0)
    bytes = buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
  let text: string
  try {
    // stream: true lets a character cut at the end of the peek pass; the full read checks it again.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true })
  } catch {
    throw new ImportFileError([fileIssue('file.encoding', String(lineOfFirstBadByte(bytes, 1)))])
  }
  if (text.trim() === '') throw new ImportFileError([fileIssue('file.empty')])
  const end = text.indexOf('\n')
  return { delimiter: detectDelimiter(end < 0 ? text : text.slice(0, end)) }
}

/** The line (counting from `firstLine`) of the first byte in `chunk` that is not UTF-8. */
function lineOfFirstBadByte(chunk: Buffer, firstLine: number): number {
  // Decoded leniently, the first bad byte is the first replacement character (bytes continuing a character from
  // the chunk before are skipped first).
  let start = 0
  while (start < 3 && start < chunk.length && (chunk[start]! & 0xc0) === 0x80) start++
  const text = new TextDecoder('utf-8').decode(chunk.subarray(start))
  const bad = text.indexOf('\uFFFD')
  return firstLine + countLineBreaks(text, 0, bad < 0 ? text.length : bad)
}

function countLineBreaks(text: string, from: number, to: number): number {
  let count = 0
  for (let at = text.indexOf('\n', from); at >= 0 && at < to; at = text.indexOf('\n', at + 1)) count++
  return count
}

/** The file as text, refusing bytes that are not UTF-8 (a byte-order mark is dropped). */
async function* utf8Chunks(path: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let line = 1
  for await (const chunk of fs.createReadStream(path, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    let text: string
    try {
      text = decoder.decode(chunk, { stream: true })
    } catch {
      throw new ImportFileError([fileIssue('file.encoding', String(lineOfFirstBadByte(chunk, line)))])
    }
    line += countLineBreaks(text, 0, text.length)
    yield text
  }
  try {
    const rest = decoder.decode()
    if (rest) yield rest
  } catch {
    throw new ImportFileError([fileIssue('file.encoding', String(line))])
  }
}

/** A record and the line of the file it starts on. */
interface FileRecord {
  line: number
  fields: string[]
  /** No field holds a backslash, tab or line break, so none needs escaping for COPY. */
  clean: boolean
}

/** Trims spaces and tabs, as csv-parse's `trim` does. */
function trimField(value: string): string {
  const first = value.charCodeAt(0)
  const last = value.charCodeAt(value.length - 1)
  if (first !== 32 && first !== 9 && last !== 32 && last !== 9) return value
  return value.replace(/^[ \t]+|[ \t]+$/g, '')
}

/**
 * The records of the file, in batches. Text is cut at line breaks outside quotes (an even number of quotes before
 * the cut); a piece without quotes is split directly, a piece with quotes is parsed by csv-parse.
 */
async function* csvRecords(chunks: AsyncIterable<string>, delimiter: string): AsyncGenerator<FileRecord[]> {
  let carry = ''
  let line = 1
  const parsePiece = (piece: string): FileRecord[] => {
    const records: FileRecord[] = []
    if (piece.indexOf('"') < 0 && !/\r(?!\n)/.test(piece)) {
      const clean = piece.indexOf('\\') < 0 && piece.indexOf('\t') < 0
      const lines = piece.split('\n')
      // The piece ends with a line break, so the last element is empty.
      for (let i = 0; i < lines.length - 1; i++) {
        let text = lines[i]!
        if (text.endsWith('\r')) text = text.slice(0, -1)
        if (text.length > MAX_RECORD_SIZE) throw new ImportFileError([fileIssue('file.csv', String(line + i))])
        if (text === '') continue
        const fields = text.split(delimiter)
        for (let f = 0; f < fields.length; f++) fields[f] = trimField(fields[f]!)
        records.push({ line: line + i, fields, clean })
      }
      line += lines.length - 1
      return records
    }
    let parsed: { record: string[]; info: { lines: number } }[]
    try {
      parsed = parseCsv(piece, { delimiter, relax_column_count: true, skip_empty_lines: true, trim: true, max_record_size: MAX_RECORD_SIZE, info: true }) as unknown as typeof parsed
    } catch (error) {
      if (error instanceof CsvError) throw new ImportFileError([fileIssue('file.csv', String(line - 1 + ((error as unknown as { lines?: number }).lines ?? 1)))])
      throw error
    }
    for (const { record, info } of parsed) {
      // info.lines is the line the record ends on; a quoted field may hold line breaks.
      let breaks = 0
      for (const field of record) if (field.indexOf('\n') >= 0) breaks += countLineBreaks(field, 0, field.length)
      records.push({ line: line - 1 + info.lines - breaks, fields: record, clean: false })
    }
    line += countLineBreaks(piece, 0, piece.length)
    return records
  }

  for await (const chunk of chunks) {
    const text = carry + chunk
    let cut = text.lastIndexOf('\n') + 1
    if (text.indexOf('"') >= 0) {
      // Move the cut back until it is outside quotes.
      let quotes = 0
      for (let at = text.indexOf('"'); at >= 0 && at < cut; at = text.indexOf('"', at + 1)) quotes++
      while (cut > 0 && quotes % 2 === 1) {
        const previous = text.lastIndexOf('\n', cut - 2) + 1
        for (let at = text.indexOf('"', previous); at >= 0 && at < cut; at = text.indexOf('"', at + 1)) quotes--
        cut = previous
      }
    }
    carry = text.slice(cut)
    if (carry.length > MAX_RECORD_SIZE * 4) throw new ImportFileError([fileIssue('file.csv', String(line))])
    if (cut > 0) yield parsePiece(text.slice(0, cut))
  }
  if (carry !== '') yield parsePiece(carry.endsWith('\n') ? carry : `${carry}\n`)
}

/** Escapes a value for COPY text format; empty means NULL. */
function copyValue(value: string | undefined): string {
  if (value === undefined || value === '') return NULL
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value
}

/** A value for COPY: NULL for null; escaped unless the record is known to need none. */
function copyOf(value: string | null, clean: boolean): string {
  if (value === null) return NULL
  return clean ? value : copyValue(value)
}

/** The problems column: "column US code US detail", joined by RS; NULL when there are none. */
function problemsOf(problems: readonly RowProblem[]): string {
  if (problems.length === 0) return NULL
  return copyValue(problems.map((p) => `${p.column ?? ''}${UNIT_SEPARATOR}${p.code}${UNIT_SEPARATOR}${p.detail ?? ''}`).join(RECORD_SEPARATOR))
}

function isBlank(fields: readonly string[]): boolean {
  for (const field of fields) if (field !== '') return false
  return true
}

interface CprEntry {
  hmac: string
  encrypted: string
  birthDate: string
  error: string | null
  written: boolean
}

export interface StageOptions {
  client: pg.ClientBase
  path: string
  delimiter: ',' | ';'
  cpr: CprProtector
  now: Date
  onRows?: (rowsRead: number) => void
}

/** Streams the file into import_rows (which the caller has created). Returns the number of data rows. */
export async function stageFile(options: StageOptions): Promise<number> {
  const { client, cpr, now } = options
  const cprCache = new Map<string, CprEntry>()
  const cprOf = (raw: string): CprEntry => {
    let entry = cprCache.get(raw)
    if (entry) return entry
    const parsed = parseCpr(raw, now)
    entry = parsed.ok
      ? {
          hmac: `\\\\x${cpr.hash(parsed.cpr).toString('hex')}`,
          encrypted: `\\\\x${cpr.encrypt(parsed.cpr).toString('hex')}`,
          birthDate: parsed.birthDate.toISOString().slice(0, 10),
          error: null,
          written: false,
        }
      : { hmac: NULL, encrypted: NULL, birthDate: NULL, error: parsed.error, written: true }
    if (cprCache.size >= CPR_CACHE_SIZE) cprCache.clear()
    cprCache.set(raw, entry)
    return entry
  }

  let checker: RowChecker | undefined
  let rows = 0
  const problems: RowProblem[] = []

  async function* copyText(): AsyncGenerator<string> {
    for await (const records of csvRecords(utf8Chunks(options.path), options.delimiter)) {
      let text = ''
      for (const { line, fields, clean } of records) {
        if (!checker) {
          const header = readHeader(fields)
          if ('issues' in header) throw new ImportFileError(header.issues)
          checker = new RowChecker(header.positions)
          continue
        }
        // A line of empty fields (a spreadsheet's trailing ";;;;") is not a row.
        if (isBlank(fields)) continue
        rows++
        problems.length = 0
        const r = checker.check(fields, problems)
        let hmac = NULL
        let encrypted = NULL
        let birthDate = NULL
        if (r) {
          const entry = cprOf(checker.value(fields, 'donor_cpr'))
          if (entry.error !== null) problems.push({ column: 'donor_cpr', code: `cpr.${entry.error}` })
          else {
            hmac = entry.hmac
            birthDate = entry.birthDate
            if (!entry.written) {
              encrypted = entry.encrypted
              entry.written = true
            }
          }
          text += `${line}\t${copyOf(r.sampleLabel, clean)}\t${hmac}\t${encrypted}\t${birthDate}\t${copyOf(r.materialType, clean)}\t${copyOf(r.collectedAt, clean)}\t${copyOf(r.storageTemperature, clean)}\t${copyOf(r.parentLabel, clean)}\t${copyOf(r.quantity, clean)}\t${copyOf(r.quantityUnit, clean)}\t${copyOf(r.storageLocation, clean)}\t${copyOf(r.sprec, clean)}\t${copyOf(r.diagnosis, clean)}\t${copyOf(r.availability, clean)}\t${problemsOf(problems)}\n`
        } else {
          text += `${line}${'\t\\N'.repeat(14)}\t${problemsOf(problems)}\n`
        }
      }
      if (text !== '') {
        yield text
        options.onRows?.(rows)
      }
    }
    if (!checker) throw new ImportFileError([fileIssue('file.empty')])
    if (rows === 0) throw new ImportFileError([fileIssue('file.no_rows')])
  }

  const stream = client.query(copyFrom(COPY_STATEMENT))
  await pipeline(Readable.from(copyText(), { objectMode: false, highWaterMark: 4 }), stream)
  return rows
}
