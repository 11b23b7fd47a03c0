// The citizen's portal (MitID sign-in).
import { Router } from 'express'
import type { Services } from '../server/services/index.ts'
import { requireCitizen } from '../server/auth/guards.ts'

export default function citizenRoutes(_services: Services): Router {
  const router = Router()
  router.use('/borger', requireCitizen)
  router.get('/borger', (_req, res) => res.render('pages/citizen/start'))
  return router
}
