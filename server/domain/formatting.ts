// Dates and times as a Danish public service shows them: in Danish time, in the page's language.
export type Lang = 'da' | 'en'

const TIME_ZONE = 'Europe/Copenhagen'
const locales: Record<Lang, string> = { da: 'da-DK', en: 'en-GB' }

const dateFormats = new Map<Lang, Intl.DateTimeFormat>()
const dateTimeFormats = new Map<Lang, Intl.DateTimeFormat>()

function cached(map: Map<Lang, Intl.DateTimeFormat>, lang: Lang, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let format = map.get(lang)
  if (!format) {
    format = new Intl.DateTimeFormat(locales[lang], { timeZone: TIME_ZONE, ...options })
    map.set(lang, format)
  }
  return format
}

/** "12. marts 2024" / "12 March 2024". */
export function formatDate(value: Date | string, lang: Lang): string {
  return cached(dateFormats, lang, { day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(value))
}

/** "12. marts 2024 kl. 09.40" / "12 March 2024 at 09:40". */
export function formatDateTime(value: Date | string, lang: Lang): string {
  return cached(dateTimeFormats, lang, { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(value))
}

/** The calendar date in Denmark, as YYYY-MM-DD. */
export function danishDate(value: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(value)
}
