// Biobank staff pages (the region's staff sign-in). One router per area; every page needs a staff session, and
// the services check the role and biobank again on every call.
import { Router } from 'express'
import type { Services } from '../server/services/index.ts'
import { requireStaff } from '../server/auth/guards.ts'
import dashboardRoutes from './staff/dashboard.ts'
import samplesRoutes from './staff/samples.ts'
import searchRoutes from './staff/search.ts'
import importRoutes from './staff/import.ts'
import exportRoutes from './staff/export.ts'
import labelsRoutes from './staff/labels.ts'
import optOutRoutes from './staff/optOut.ts'
import auditRoutes from './staff/audit.ts'
import researchRoutes from './staff/research.ts'

export default function staffRoutes(services: Services): Router {
  const router = Router()
  router.use('/medarbejder', requireStaff())
  router.use(dashboardRoutes(services))
  router.use(samplesRoutes(services))
  router.use(searchRoutes(services))
  router.use(importRoutes(services))
  router.use(exportRoutes(services))
  router.use(labelsRoutes(services))
  router.use(optOutRoutes(services))
  router.use(auditRoutes(services))
  router.use(researchRoutes(services))
  return router
}
