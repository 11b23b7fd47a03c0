// `npm run audit:verify`: checks the whole hash-chained audit trail; exit 0 when intact, 1 naming the first
// broken link otherwise.
import { loadConfigFromEnvironment } from '../config.ts'
import { bootstrap } from '../bootstrap.ts'
import { verifyAuditChain } from '../services/auditVerifier.ts'
import { failAndExit } from './fail.ts'

try {
  const runtime = await bootstrap(loadConfigFromEnvironment())
  const verdict = await verifyAuditChain(runtime.services.database.sequelize)
  await runtime.shutdown()
  if (verdict.ok) {
    console.log(`Audit trail intact: ${verdict.events} events in ${verdict.chains} chains.`)
  } else {
    const { chain, seq, eventId, reason } = verdict.firstBroken
    console.error(
      `Audit trail BROKEN: chain ${chain}, position ${seq}${eventId === null ? '' : ` (audit event ${eventId})`}: ${reason.replace(/_/g, ' ')}. ` +
        `${verdict.brokenChains} of ${verdict.chains} chains are broken; ${verdict.events} events in all.`,
    )
    process.exitCode = 1
  }
} catch (error) {
  failAndExit(error)
}
