// Exports of a search result or a whole biobank (/medarbejder/eksport...): the search criteria come as query
// parameters (none = the whole biobank). The service checks that the user is that biobank's admin and audits
// the export; the file is then streamed to the browser as a download.
import { Router, type Request, type Response } from 'express'
import { pipeline } from 'node:stream/promises'
import type { Services } from '../../server/services/index.ts'
import type { ExportFormat } from '../../server/services/exportService.ts'
import { staffOf } from '../../server/auth/guards.ts'
import { HttpError } from '../../server/errorHandler.ts'
import { sampleCriteriaSchema } from '../../server/domain/sampleCriteria.ts'

export default function exportRoutes(services: Services): Router {
  const router = Router()

  const download = (format: ExportFormat) => async (req: Request, res: Response) => {
    const user = staffOf(req)
    const parsed = sampleCriteriaSchema.safeParse(req.query)
    // Export links are made by the search page from valid criteria; anything else is a broken or altered link.
    if (!parsed.success) throw new HttpError(400, 'invalid export criteria')
    const file = await services.exports.openExport(user, format, parsed.data, String(req.id ?? ''))

    res.status(200)
    res.setHeader('Content-Type', file.contentType)
    res.setHeader('Content-Disposition', `attachment; filename="${file.filename}"`)
    res.setHeader('Cache-Control', 'no-store')
    try {
      await pipeline(file.stream(), res)
    } catch (error) {
      // Headers are sent: the only honest signal left is a cut-off download, which pipeline already made.
      if ((error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') req.log.info({ format }, 'export abandoned by the client')
      else req.log.error({ err: error, format }, 'export failed while streaming')
    }
  }

  router.get('/medarbejder/eksport.csv', download('csv'))
  router.get('/medarbejder/eksport.fhir.json', download('fhir'))
  return router
}
