/**
 * Finds text shaped like a CPR number (ddmmyy-nnnn, with or without the dash, also a percent-encoded dash).
 *
 * Random UUIDs (sample ids in pages and URLs) are blanked first: a few in ten thousand of them hold
 * ten digits in a CPR shape across a dash (e.g. `…a0112345-6789…`), which made leak checks fail by chance.
 * A UUID cannot hide a CPR number: a real leak is never inside the 8-4-4-4-12 hex pattern.
 */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
const CPR_SHAPE = /(?<!\d)[0-3]\d[01]\d{3}(?:-|%2D)?\d{4}(?!\d)/i

export function cprShapedText(text: string): string | undefined {
  return CPR_SHAPE.exec(text.replace(UUID, '<uuid>'))?.[0]
}
