// Exports of a search result or a whole biobank (/medarbejder/eksport...).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function exportRoutes(_services: Services): Router {
  const router = Router()
  return router
}
