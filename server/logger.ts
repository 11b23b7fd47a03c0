// One pino logger. Every line passes through redactCprs, so a CPR number can never reach a log.
import pino, { type Logger, type DestinationStream } from 'pino'
import { redactCprs } from './domain/cpr.ts'

export type { Logger }

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'biobank-registry' },
      redact: { paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'], censor: '[redacted]' },
      hooks: { streamWrite: (line: string) => redactCprs(line) },
    },
    destination,
  )
}
