// The "## Load soak" section of BENCHMARKS.md lives between two markers, so `npm run soak` can replace it in place and
// `npm run bench` (which writes the rest of the file anew) can carry it over. No imports: bench/report.ts uses it too.

export const SOAK_START = '<!-- soak:start -->'
export const SOAK_END = '<!-- soak:end -->'

/** The soak section with its markers (ending in a newline), or undefined when the text has none. */
export function soakSectionOf(text: string): string | undefined {
  const start = text.indexOf(SOAK_START)
  if (start < 0) return undefined
  const end = text.indexOf(SOAK_END, start)
  if (end < 0) return undefined
  return `${text.slice(start, end + SOAK_END.length)}\n`
}

/**
 * `text` with `section` (markers included) in place of its soak section; without one, the section goes before the
 * query plans (a long appendix) when the text has them, else at the end.
 */
export function withSoakSection(text: string, section: string): string {
  const body = section.endsWith('\n') ? section : `${section}\n`
  const start = text.indexOf(SOAK_START)
  const end = start < 0 ? -1 : text.indexOf(SOAK_END, start)
  if (start >= 0 && end >= 0) {
    let after = text.slice(end + SOAK_END.length)
    if (after.startsWith('\n')) after = after.slice(1)
    return `${text.slice(0, start)}${body}${after}`
  }
  const plans = text.search(/^## Query plans/m)
  if (plans >= 0) return `${text.slice(0, plans)}${body}\n${text.slice(plans)}`
  const trimmed = text.trimEnd()
  return trimmed === '' ? body : `${trimmed}\n\n${body}`
}
