// What `npm run bench` and `npm run soak` share as command-line tools: usage errors, whole-number options, and
// the way they end.

/** A mistake in the command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/** An option that must be a whole number (underscores allowed: 10_000_000), or the fallback when not given. */
export function wholeNumber(name: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  const cleaned = value.replace(/_/g, '')
  const n = Number(cleaned)
  if (!/^\d+$/.test(cleaned) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max.toLocaleString('en')}, not "${value}"`)
  return n
}

/** Runs the command's main and exits with its code: 2 for a usage error (with the usage text), 1 for a crash. */
export async function runCommand(name: string, usage: string, main: () => Promise<number>): Promise<never> {
  let exitCode: number
  try {
    exitCode = await main()
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${name}: ${error.message}\n\n${usage}`)
      exitCode = 2
    } else {
      console.error(error)
      exitCode = 1
    }
  }
  // Explicitly: a pool or timer left behind by a scenario must not keep the command from ending.
  process.exit(exitCode)
}
