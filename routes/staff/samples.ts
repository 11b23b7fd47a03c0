// Register, edit and view samples (/medarbejder/proever/...).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function samplesRoutes(_services: Services): Router {
  const router = Router()
  return router
}
