// The auditor's searchable view of the audit trail (/medarbejder/revision).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'
import { requireStaff, staffOf } from '../../server/auth/guards.ts'
import { auditCriteriaSchema, type AuditCriteria } from '../../server/services/auditService.ts'

export default function auditRoutes(services: Services): Router {
  const router = Router()
  router.use('/medarbejder/revision', requireStaff('auditor'))

  router.get('/medarbejder/revision', async (req, res) => {
    const raw = { action: req.query.action, actorKind: req.query.actorKind, from: req.query.from, to: req.query.to, sampleLabel: req.query.sampleLabel }
    const values = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : '']))
    const parsed = auditCriteriaSchema.safeParse(values)
    if (!parsed.success) {
      const errors = Object.fromEntries(parsed.error.issues.map((issue) => [String(issue.path[0]), res.locals.t(`staffAudit.errors.${String(issue.path[0])}`)]))
      return res.status(400).render('pages/staff/audit/index', { values, errors, rows: [], nextCursor: null, query: '' })
    }
    const criteria: AuditCriteria = parsed.data
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined
    const result = await services.auditSearch.search(staffOf(req), criteria, cursor, String(req.id))
    const query = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== '')).toString()
    res.render('pages/staff/audit/index', { values, errors: {}, ...result, query })
  })
  return router
}
