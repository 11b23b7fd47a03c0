// The citizen's portal (MitID sign-in): my samples, a sample's story, research opt-out with receipt, acting for
// a child under 15, who has accessed my data, and a download of all of it. Routes parse, call a service, render.
import crypto from 'node:crypto'
import { Router, type NextFunction, type Request, type Response } from 'express'
import { z } from 'zod'
import type { Services } from '../server/services/index.ts'
import type { CitizenSubject } from '../server/services/citizenService.ts'
import { citizenOf, requireCitizen } from '../server/auth/guards.ts'
import { HttpError } from '../server/errorHandler.ts'
import { OPT_OUT_CHOICE_CODES } from '../server/domain/vocabulary.ts'
import { isFormToken } from '../server/services/optOutService.ts'
import { citizenBundle } from '../server/services/citizenFhir.ts'

declare module 'express-serve-static-core' {
  interface Locals {
    subject?: CitizenSubject
  }
}

const changeForm = z.object({
  choice: z.enum(OPT_OUT_CHOICE_CODES),
  optOut: z.enum(['yes', 'no']),
  formToken: z.string().refine(isFormToken),
})

const confirmQuery = z.object({ choice: z.enum(OPT_OUT_CHOICE_CODES), optOut: z.enum(['yes', 'no']) })

const notFound = () => new HttpError(404, 'no such page for this citizen')

export default function citizenRoutes(services: Services): Router {
  const { citizen, optOuts } = services
  const router = Router()
  router.use('/borger', requireCitizen)

  // Whose data this request is about: the citizen, or the child they chose, checked against custody every time.
  router.use('/borger', async (req: Request, res: Response, next: NextFunction) => {
    const user = citizenOf(req)
    const subject = await citizen.resolveSubject(user, req.session.actingForDonorId)
    if (subject === 'childNoLongerAvailable') {
      delete req.session.actingForDonorId
      return req.session.save((error) => (error ? next(error) : res.redirect(303, '/borger?besked=barn-ikke-tilgaengeligt')))
    }
    res.locals.subject = subject
    if (subject.childName && res.locals.user) res.locals.user = { ...res.locals.user, actingFor: { name: subject.childName } }
    next()
  })
  const subjectOf = (res: Response) => res.locals.subject!

  router.get('/borger', async (req, res) => {
    const subject = subjectOf(res)
    const user = citizenOf(req)
    const [choices, children] = await Promise.all([citizen.choicesOf(subject.donorId), citizen.children(user)])
    res.render('pages/citizen/start', { subject, choices, children, message: typeof req.query.besked === 'string' ? req.query.besked : undefined })
  })

  router.post('/borger/handl-for', async (req, res, next) => {
    const user = citizenOf(req)
    const wanted = Number(req.body?.child)
    const child = (await citizen.children(user)).find((c) => c.donorId === wanted)
    // Any id that is not a child in custody under 15 is answered like a page that does not exist.
    if (!child) throw notFound()
    req.session.actingForDonorId = child.donorId
    // Saved before the redirect, or the next page could still be read from the session before the switch.
    req.session.save((error) => (error ? next(error) : res.redirect(303, '/borger')))
  })

  router.post('/borger/handl-for-mig-selv', (req, res, next) => {
    delete req.session.actingForDonorId
    req.session.save((error) => (error ? next(error) : res.redirect(303, '/borger')))
  })

  router.get('/borger/proever', async (req, res) => {
    const page = Number(typeof req.query.side === 'string' ? req.query.side : 1)
    const result = await citizen.samples(subjectOf(res), page, String(req.id))
    res.render('pages/citizen/samples', result)
  })

  router.get('/borger/proever/:publicId', async (req, res) => {
    const story = await citizen.sample(subjectOf(res), req.params.publicId, String(req.id))
    if (!story) throw notFound()
    res.render('pages/citizen/sample', story)
  })

  router.get('/borger/fravalg', async (req, res) => {
    const subject = subjectOf(res)
    const [choices, history] = await Promise.all([citizen.choicesOf(subject.donorId), optOuts.history(subject)])
    res.render('pages/citizen/optOut', { choices, history, message: req.query.besked === 'uaendret' ? 'unchanged' : undefined })
  })

  router.get('/borger/fravalg/bekraeft', async (req, res) => {
    const parsed = confirmQuery.safeParse(req.query)
    if (!parsed.success) return res.redirect(303, '/borger/fravalg')
    const choices = await citizen.choicesOf(subjectOf(res).donorId)
    const optOut = parsed.data.optOut === 'yes'
    // Nothing to confirm when the choice already has this value.
    if (choices[parsed.data.choice] === optOut) return res.redirect(303, '/borger/fravalg?besked=uaendret')
    res.render('pages/citizen/optOutConfirm', { choice: parsed.data.choice, optOut, formToken: crypto.randomUUID() })
  })

  router.post('/borger/fravalg', async (req, res) => {
    const parsed = changeForm.safeParse(req.body)
    if (!parsed.success) {
      res.status(400)
      return res.render('pages/citizen/optOutInvalid')
    }
    const result = await optOuts.change(
      { kind: 'citizen', subject: subjectOf(res) },
      { choice: parsed.data.choice, optOut: parsed.data.optOut === 'yes', formToken: parsed.data.formToken, requestId: String(req.id) },
    )
    // Post/redirect/get: the receipt has its own address, so reloading it changes nothing.
    if (result.outcome === 'unchanged') return res.redirect(303, '/borger/fravalg?besked=uaendret')
    res.redirect(303, `/borger/fravalg/kvittering/${result.receipt.reference}`)
  })

  router.get('/borger/fravalg/kvittering/:reference', async (req, res) => {
    const receipt = await optOuts.receipt(subjectOf(res), req.params.reference)
    if (!receipt) throw notFound()
    res.render('pages/citizen/receipt', { receipt })
  })

  router.get('/borger/adgang', async (req, res) => {
    const entries = await citizen.accessLog(subjectOf(res), String(req.id))
    res.render('pages/citizen/accessLog', { entries })
  })

  router.get('/borger/mine-data', (_req, res) => res.render('pages/citizen/myData'))

  router.get('/borger/mine-data.json', async (req, res) => {
    const data = await citizen.everything(subjectOf(res), String(req.id))
    res.attachment('mine-data.json').type('application/json').send(JSON.stringify({ generatedAt: new Date(), ...data }, null, 2))
  })

  router.get('/borger/mine-data.fhir.json', async (req, res) => {
    const data = await citizen.everything(subjectOf(res), String(req.id))
    res.attachment('mine-data.fhir.json').type('application/fhir+json').send(JSON.stringify(citizenBundle(data), null, 2))
  })

  return router
}
