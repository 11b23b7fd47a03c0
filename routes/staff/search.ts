// Find samples (/medarbejder/soeg).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function searchRoutes(_services: Services): Router {
  const router = Router()
  return router
}
