// Search latency: the first page and a page deep in the result (reached by following the cursor), for a search by
// material type and date range in one biobank, as a registrar of that biobank makes it through the search service.
// Prints JSON with p50/p99 per page and the scan nodes PostgreSQL chose.
//
//   npx tsx bench/searchScenario.ts [--biobank RH] [--material plasma] [--from 2010-01-01] [--to 2025-12-31]
//                                   [--depth 200] [--iterations 200]
//
// Against the development database (DATABASE_URL or the embedded cluster); fill it first with
// `npm run seed:bulk -- --samples 1000000`.
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { QueryTypes } from 'sequelize'
import type { Services } from '../server/services/index.ts'
import type { StaffSessionUser } from '../server/services/authService.ts'
import { buildSampleQuery, decodeCursor, type SearchPage } from '../server/services/searchService.ts'
import { sampleCriteriaSchema, type SampleCriteria } from '../server/domain/sampleCriteria.ts'
import type { BiobankCode } from '../server/domain/vocabulary.ts'

export interface SearchScenarioOptions {
  biobank: BiobankCode
  criteria: SampleCriteria
  /** How many pages to follow with the cursor before measuring the deep page. */
  depth: number
  /** Timed repetitions of each page. */
  iterations: number
}

export interface PageTiming {
  page: number
  rows: number
  p50Ms: number
  p99Ms: number
  meanMs: number
  maxMs: number
  /** Scan nodes of the page's query (EXPLAIN), e.g. "Index Only Scan on samples_search_by_material". */
  scans: string[]
}

export interface SearchScenarioResult {
  scenario: 'search'
  biobank: BiobankCode
  criteria: SampleCriteria
  samplesInDatabase: number
  iterations: number
  firstPage: PageTiming
  deepPage: PageTiming | { page: number; reached: false; note: string }
  /** Following the cursor from page 1 to the deep page, one page after the other. */
  walkMs: number
  /** The floor of each page: see floorPage. */
  floor: { firstPage: Omit<PageTiming, 'page' | 'rows' | 'scans'>; deepPage?: Omit<PageTiming, 'page' | 'rows' | 'scans'> }
}

/**
 * The floor of a page: the same 50 rows read the cheapest way PostgreSQL can, by a plain pg client with a prepared
 * statement over the same covering index: ids and dates only, no service, no join, no cursor to encode.
 */
function floorPage(services: Services, biobankId: number, criteria: SampleCriteria, after?: { collectedAt: string; id: string }): () => Promise<unknown> {
  const text = `select id, collected_at from samples
                 where biobank_id = $1 and material_type = $2
                   and collected_at >= ($3::date)::timestamp at time zone 'Europe/Copenhagen'
                   and collected_at < ($4::date + 1)::timestamp at time zone 'Europe/Copenhagen'
                   ${after ? 'and (collected_at, id) < ($5::timestamptz, $6::bigint)' : ''}
                 order by collected_at desc, id desc limit 51`
  const values: unknown[] = [biobankId, criteria.materialType, criteria.collectedFrom, criteria.collectedTo]
  if (after) values.push(after.collectedAt, after.id)
  const name = after ? 'bench_search_floor_deep' : 'bench_search_floor_first'
  return () => services.database.pool.query({ name, text, values })
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

const round = (ms: number) => Math.round(ms * 1000) / 1000

async function time(iterations: number, run: () => Promise<unknown>): Promise<Omit<PageTiming, 'page' | 'rows' | 'scans'>> {
  for (let i = 0; i < Math.min(5, iterations); i++) await run() // warm-up: plans, buffers, connections
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint()
    await run()
    samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  samples.sort((a, b) => a - b)
  return {
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    maxMs: round(samples[samples.length - 1]!),
  }
}

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Relation Name'?: string
  Plans?: PlanNode[]
}

/** The scan nodes of the plan of the search's query for one page. */
async function scansOf(services: Services, criteria: SampleCriteria, biobankId: number, cursor: string | undefined): Promise<string[]> {
  const { sql, replacements } = buildSampleQuery(criteria, { biobankIds: [biobankId], keyset: cursor ? decodeCursor(cursor) : undefined, limit: 51 })
  const [row] = await services.database.sequelize.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${sql}`, { replacements, type: QueryTypes.SELECT })
  const scans: string[] = []
  const walk = (node: PlanNode) => {
    if (node['Node Type'].includes('Scan') && node['Node Type'] !== 'Function Scan') scans.push(`${node['Node Type']} on ${node['Index Name'] ?? node['Relation Name']}`)
    node.Plans?.forEach(walk)
  }
  walk(row!['QUERY PLAN'][0].Plan)
  return scans
}

export async function runSearchScenario(services: Services, options: SearchScenarioOptions): Promise<SearchScenarioResult> {
  const criteria = sampleCriteriaSchema.parse(options.criteria)
  const [biobank] = await services.database.sequelize.query<{ id: number }>('select id from biobanks where code = :code', { replacements: { code: options.biobank }, type: QueryTypes.SELECT })
  if (!biobank) throw new Error(`no biobank ${options.biobank} in the database`)
  const [{ n }] = (await services.database.sequelize.query<{ n: string }>('select count(*) as n from samples', { type: QueryTypes.SELECT })) as [{ n: string }]
  // A registrar of the biobank; the search itself writes nothing, so no staff row is needed.
  const user: StaffSessionUser = { kind: 'staff', staffUserId: 0, name: 'bench', role: 'registrar', biobankId: biobank.id, biobankCode: options.biobank }
  const search = (cursor?: string): Promise<SearchPage> => services.search.search(user, criteria, cursor)

  const first = await search()
  const firstPage: PageTiming = { page: 1, rows: first.rows.length, ...(await time(options.iterations, () => search())), scans: await scansOf(services, criteria, biobank.id, undefined) }

  // Follow "Næste side" to the deep page.
  const walkStart = process.hrtime.bigint()
  let cursor: string | undefined
  let page = first
  let pageNumber = 1
  while (pageNumber < options.depth && page.nextCursor) {
    cursor = page.nextCursor
    page = await search(cursor)
    pageNumber += 1
  }
  const walkMs = round(Number(process.hrtime.bigint() - walkStart) / 1e6)

  const deepPage: SearchScenarioResult['deepPage'] =
    pageNumber < options.depth
      ? { page: pageNumber, reached: false, note: `the result has only ${pageNumber} pages; seed more samples or widen the criteria` }
      : { page: pageNumber, rows: page.rows.length, ...(await time(options.iterations, () => search(cursor))), scans: await scansOf(services, criteria, biobank.id, cursor) }

  if (!criteria.materialType || !criteria.collectedFrom || !criteria.collectedTo) throw new Error('the search floor needs a material type and both dates')
  const floor: SearchScenarioResult['floor'] = { firstPage: await time(options.iterations, floorPage(services, biobank.id, criteria)) }
  const deepKey = cursor ? decodeCursor(cursor)?.key : undefined
  if ('rows' in deepPage && deepKey) floor.deepPage = await time(options.iterations, floorPage(services, biobank.id, criteria, deepKey))

  return { scenario: 'search', biobank: options.biobank, criteria, samplesInDatabase: Number(n), iterations: options.iterations, firstPage, deepPage, walkMs, floor }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      biobank: { type: 'string', default: 'RH' },
      material: { type: 'string', default: 'plasma' },
      from: { type: 'string', default: '2010-01-01' },
      to: { type: 'string', default: '2025-12-31' },
      depth: { type: 'string', default: '200' },
      iterations: { type: 'string', default: '200' },
    },
    strict: true,
  })
  const { loadConfigFromEnvironment } = await import('../server/config.ts')
  const { bootstrap } = await import('../server/bootstrap.ts')
  const { createLogger } = await import('../server/logger.ts')
  const runtime = await bootstrap(loadConfigFromEnvironment(), createLogger('warn'))
  try {
    const result = await runSearchScenario(runtime.services, {
      biobank: values.biobank as BiobankCode,
      criteria: { materialType: values.material as SampleCriteria['materialType'], collectedFrom: values.from, collectedTo: values.to },
      depth: Number(values.depth),
      iterations: Number(values.iterations),
    })
    console.log(JSON.stringify(result, null, 2))
  } finally {
    await runtime.shutdown()
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
