// Opt-out on a citizen's behalf from a paper form (/medarbejder/fravalg), for biobank admins. The CPR number
// arrives by POST only, is shown masked afterwards, and the receipt can be printed and posted to the citizen.
import crypto from 'node:crypto'
import { Router } from 'express'
import { z } from 'zod'
import type { Services } from '../../server/services/index.ts'
import { requireStaff, staffOf } from '../../server/auth/guards.ts'
import { HttpError } from '../../server/errorHandler.ts'
import { cprErrorMessage, parseCpr } from '../../server/domain/cpr.ts'
import { OPT_OUT_CHOICE_CODES } from '../../server/domain/vocabulary.ts'
import { isFormToken } from '../../server/services/optOutService.ts'

const paperForm = z.object({
  cpr: z.string().max(20).default(''),
  choice: z.enum(OPT_OUT_CHOICE_CODES).optional(),
  optOut: z.enum(['yes', 'no']).optional(),
  formToken: z.string().refine(isFormToken),
})

type FieldErrors = Partial<Record<'cpr' | 'choice' | 'optOut', string>>

export default function optOutRoutes(services: Services): Router {
  const { optOuts } = services
  const router = Router()
  router.use('/medarbejder/fravalg', requireStaff('biobank_admin'))

  router.get('/medarbejder/fravalg', (_req, res) => {
    res.render('pages/staff/optOut/form', { values: {}, errors: {}, formToken: crypto.randomUUID() })
  })

  router.post('/medarbejder/fravalg', async (req, res) => {
    const t = res.locals.t
    const parsed = paperForm.safeParse(req.body)
    const values = { cpr: String(req.body?.cpr ?? ''), choice: req.body?.choice, optOut: req.body?.optOut }
    const errors: FieldErrors = {}
    if (!parsed.success || !parsed.data.choice) errors.choice = t('staffOptOut.errors.choice')
    if (!parsed.success || !parsed.data.optOut) errors.optOut = t('staffOptOut.errors.optOut')
    // Every mistake at once: the CPR number is checked even when a choice is missing.
    const cprCheck = parseCpr(values.cpr)
    if (!cprCheck.ok && Object.keys(errors).length > 0) errors.cpr = cprErrorMessage(cprCheck.error, req.lang)
    if (parsed.success && parsed.data.choice && parsed.data.optOut) {
      const result = await optOuts.registerOnPaper(staffOf(req), {
        cpr: parsed.data.cpr,
        choice: parsed.data.choice,
        optOut: parsed.data.optOut === 'yes',
        formToken: parsed.data.formToken,
        requestId: String(req.id),
      })
      if ('error' in result) errors.cpr = cprErrorMessage(result.error, req.lang)
      else if (result.outcome === 'unchanged') {
        return res.render('pages/staff/optOut/form', { values: {}, errors: {}, unchanged: { maskedCpr: result.maskedCpr, choices: result.choices }, formToken: crypto.randomUUID() })
      } else return res.redirect(303, `/medarbejder/fravalg/kvittering/${result.receipt.reference}`)
    }
    res.status(400).render('pages/staff/optOut/form', { values, errors, formToken: parsed.success ? parsed.data.formToken : crypto.randomUUID() })
  })

  router.get('/medarbejder/fravalg/kvittering/:reference', async (req, res) => {
    const found = await optOuts.paperReceipt(staffOf(req), req.params.reference)
    if (!found) throw new HttpError(404, 'no such paper receipt for this admin')
    res.render('pages/staff/optOut/receipt', found)
  })

  return router
}
