// Label sheets (POST /medarbejder/etiketter): the samples chosen on the search results page, printed as an A4 sheet
// of labels with a barcode each. A POST, so the list of ids can be long and never sits in a URL or a history.
import { Router } from 'express'
import { z } from 'zod'
import type { Services } from '../../server/services/index.ts'
import type { LabelSheetResult, SampleLabel } from '../../server/services/labelService.ts'
import { staffOf } from '../../server/auth/guards.ts'
import { biobanks, label, materialTypes, type Lang } from '../../server/domain/vocabulary.ts'

/** Labels per printed A4 sheet: 3 × 7 labels of 63.5 × 38.1 mm (the common L7160 layout). */
export const LABELS_PER_PAGE = 21

const labelRequestSchema = z.object({
  // One field `sample` per chosen sample; a single one arrives as a string.
  sample: z.union([z.string(), z.array(z.string())]).optional(),
})

const refusalStatus: Record<Exclude<LabelSheetResult, { ok: true }>['reason'], number> = {
  none: 400,
  tooMany: 400,
  role: 403,
  unknown: 404,
  foreign: 403,
}

type T = (key: string, options?: Record<string, unknown>) => string

/** What the refusal page says, in the user's language (counted texts are plural-aware, so they are built here). */
function refusalMessages(refusal: Exclude<LabelSheetResult, { ok: true }>, biobank: string | null, t: T): string[] {
  switch (refusal.reason) {
    case 'none':
      return [t('staffLabels.refused.none')]
    case 'tooMany':
      return [t('staffLabels.refused.tooMany', { count: refusal.requested, max: refusal.max })]
    case 'role':
      return [t('staffLabels.refused.role')]
    case 'unknown':
    case 'foreign': {
      const messages = refusal.reason === 'unknown' ? [t('staffLabels.refused.unknown', { count: refusal.unknown })] : []
      if (refusal.foreign > 0) messages.push(t('staffLabels.refused.foreign', { count: refusal.foreign, biobank }))
      return messages
    }
  }
}

function pagesOf(labels: SampleLabel[], lang: Lang) {
  const shown = labels.map((sample) => ({ ...sample, materialLabel: label(materialTypes, sample.materialType, lang) }))
  const pages: (typeof shown)[] = []
  for (let start = 0; start < shown.length; start += LABELS_PER_PAGE) pages.push(shown.slice(start, start + LABELS_PER_PAGE))
  return pages
}

export default function labelsRoutes(services: Services): Router {
  const router = Router()
  router.post('/medarbejder/etiketter', async (req, res) => {
    const user = staffOf(req)
    const parsed = labelRequestSchema.safeParse(req.body ?? {})
    const ids = parsed.success ? [parsed.data.sample ?? []].flat() : []
    const result = await services.labels.labelSheet(user, ids, String(req.id ?? ''))
    if (!result.ok) {
      const biobank = biobanks.find((b) => b.code === user.biobankCode)?.name ?? user.biobankCode
      res.status(refusalStatus[result.reason]).render('pages/staff/labels/refused', { messages: refusalMessages(result, biobank, res.locals.t as T) })
      return
    }
    const countText = (res.locals.t as T)('staffLabels.sheet.count', { count: result.labels.length })
    res.render('pages/staff/labels/sheet', { countText, pages: pagesOf(result.labels, req.lang) })
  })
  return router
}
