// The staff dashboard (GET /medarbejder): sample counts and the opt-out share of the user's scope, as charts and tables.
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'
import type { CountRow, DashboardOverview } from '../../server/services/dashboardService.ts'
import { staffOf } from '../../server/auth/guards.ts'
import { availabilities, label, materialTypes, storageTemperatures, type Lang, type VocabularyEntry } from '../../server/domain/vocabulary.ts'

/** One bar and one table row. */
export interface ChartRow {
  label: string
  value: number
  /** The value as shown, formatted for the language. */
  display: string
  /** Share of the whole, formatted. */
  share: string
  /** Written at the end of the bar. */
  barText: string
}

export interface ChartSection {
  id: string
  heading: string
  caption: string
  categoryHeader: string
  valueHeader: string
  rows: ChartRow[]
  /** The bar that fills the chart: the largest value, or 100 for percentages. */
  max: number
  total?: string
  /** Bars on a grey track (shares of a whole). */
  track?: boolean
}

type T = (key: string, options?: Record<string, unknown>) => string

function presentDashboard(overview: DashboardOverview, lang: Lang, t: T) {
  const locale = lang === 'da' ? 'da-DK' : 'en-GB'
  const number = new Intl.NumberFormat(locale)
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 })
  const share = (part: number, whole: number) => percent.format(whole === 0 ? 0 : part / whole)
  const total = overview.totalSamples

  const countSection = (id: string, rows: { label: string; count: number }[]): ChartSection => ({
    id,
    heading: t(`staffDashboard.sections.${id}.heading`),
    caption: t(`staffDashboard.sections.${id}.caption`),
    categoryHeader: t(`staffDashboard.sections.${id}.column`),
    valueHeader: t('staffDashboard.samplesColumn'),
    rows: rows.map((row) => ({ label: row.label, value: row.count, display: number.format(row.count), share: share(row.count, total), barText: number.format(row.count) })),
    max: Math.max(1, ...rows.map((row) => row.count)),
    total: number.format(total),
  })
  const vocabularyRows = <E extends VocabularyEntry>(vocabulary: readonly E[], rows: CountRow[]) =>
    rows.map((row) => ({ label: label(vocabulary, row.code as E['code'], lang), count: row.count }))

  const sections: ChartSection[] = [
    countSection('materialType', vocabularyRows(materialTypes, overview.byMaterialType)),
    countSection('storageTemperature', vocabularyRows(storageTemperatures, overview.byStorageTemperature)),
    countSection('availability', vocabularyRows(availabilities, overview.byAvailability)),
  ]
  // Within one biobank the region breakdown is a single bar; it is shown when the scope is every biobank.
  if (overview.scope === null) sections.push(countSection('region', overview.byBiobank.map((b) => ({ label: b.name, count: b.count }))))

  const { donors, material, genetic } = overview.optOuts
  const optOutRow = (key: 'material' | 'genetic', count: number): ChartRow => ({
    label: t(`staffDashboard.sections.optOut.${key}`),
    value: donors === 0 ? 0 : (100 * count) / donors,
    display: number.format(count),
    share: share(count, donors),
    barText: share(count, donors),
  })
  const optOut: ChartSection = {
    id: 'optOut',
    heading: t('staffDashboard.sections.optOut.heading'),
    caption: t('staffDashboard.sections.optOut.caption'),
    categoryHeader: t('staffDashboard.sections.optOut.column'),
    valueHeader: t('staffDashboard.sections.optOut.valueColumn'),
    rows: [optOutRow('material', material), optOutRow('genetic', genetic)],
    max: 100,
    track: true,
  }

  return {
    scopeText: overview.scope ? t('staffDashboard.scopeOwn', { biobank: overview.scope.name }) : t('staffDashboard.scopeAll'),
    totals: t('staffDashboard.totals', { samples: number.format(total), donors: number.format(donors) }),
    optOutLead: t('staffDashboard.sections.optOut.lead', { donors: number.format(donors) }),
    computedAt: overview.computedAt.toISOString(),
    computedAtText: new Intl.DateTimeFormat(locale, { timeStyle: 'short', timeZone: 'Europe/Copenhagen' }).format(overview.computedAt),
    sections,
    optOut,
  }
}

export default function dashboardRoutes(services: Services): Router {
  const router = Router()
  router.get('/medarbejder', async (req, res) => {
    const overview = await services.dashboard.overview(staffOf(req))
    res.render('pages/staff/start', { dashboard: presentDashboard(overview, req.lang, res.locals.t as T) })
  })
  return router
}
