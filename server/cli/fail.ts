// Known start-up failures (bad configuration, database out of reach) are one clear line, not a stack trace.
import { ConfigError } from '../config.ts'
import { EmbeddedPostgresError } from '../db/embeddedPostgres.ts'

export function failAndExit(error: unknown): never {
  if (error instanceof ConfigError || error instanceof EmbeddedPostgresError) {
    console.error(`biobank-registry: ${error.message}`)
  } else {
    console.error(error)
  }
  process.exit(1)
}
