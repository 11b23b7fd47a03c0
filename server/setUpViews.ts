// Views and language: EJS templates under views/, every text from locales/<lang>/*.json through i18next.
// Danish is the default; `?lang=en` or `?lang=da` on any GET switches and is remembered in a `lang` cookie.
import fs from 'node:fs'
import path from 'node:path'
import i18next, { type TFunction } from 'i18next'
import type { Express, Request, RequestHandler } from 'express'
import { projectRoot, type Config } from './config.ts'
import { formatDate, formatDateTime } from './domain/formatting.ts'
import { availabilities, findEntry, lineages, materialTypes, optOutChoices, quantityUnits, sampleEventTypes, staffRoles, storageTemperatures, type StaffRole, type VocabularyEntry } from './domain/vocabulary.ts'

const vocabularies = {
  material: materialTypes,
  temperature: storageTemperatures,
  availability: availabilities,
  eventType: sampleEventTypes,
  lineage: lineages,
  unit: quantityUnits,
  role: staffRoles,
  optOutChoice: optOutChoices,
} satisfies Record<string, readonly VocabularyEntry[]>
export type VocabularyName = keyof typeof vocabularies

/** The label of a code in the page's language; an unknown code is shown as it is rather than failing the page. */
export function labelOf(lang: Language, vocabulary: VocabularyName, code: string): string {
  const entry = findEntry<VocabularyEntry>(vocabularies[vocabulary], code)
  return entry ? entry[lang] : code
}

export const languages = ['da', 'en'] as const
export type Language = (typeof languages)[number]
export const defaultLanguage: Language = 'da'

/** Who is signed in, as the page frame shows it. Set by the sign-in work; undefined when nobody is. */
export interface ViewUser {
  kind: 'citizen' | 'staff'
  name: string
  /** The staff role's code, so the staff menu can leave out what the role cannot do. Citizens have none. */
  role?: StaffRole
  /** The staff role in plain words, e.g. "Bioanalytiker, Region Hovedstadens Biobank". Citizens have none. */
  roleLabel?: string
  /** A parent acting for a child under 15. */
  actingFor?: { name: string }
}

export const LANG_COOKIE = 'lang'
const ONE_YEAR_MS = 365 * 24 * 60 * 60 * 1000

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (languages as readonly string[]).includes(value)
}

/** The value of one cookie from a Cookie header, or undefined. Malformed percent-encoding is ignored. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const index = part.indexOf('=')
    if (index < 0) continue
    if (part.slice(0, index).trim() !== name) continue
    const raw = part.slice(index + 1).trim().replace(/^"(.*)"$/, '$1')
    try {
      return decodeURIComponent(raw)
    } catch {
      return undefined
    }
  }
  return undefined
}

export type TranslationTree = { [key: string]: TranslationTree | string | string[] }

/**
 * All texts of one language: every locales/<lang>/*.json file, one per area of the service, merged at the top
 * level. A top-level key in two files is an error, so one area cannot silently replace another's texts.
 */
export function readTranslations(lang: Language): TranslationTree {
  const folder = path.join(projectRoot, 'locales', lang)
  const merged: TranslationTree = {}
  for (const file of fs.readdirSync(folder).filter((name) => name.endsWith('.json')).sort()) {
    const tree = JSON.parse(fs.readFileSync(path.join(folder, file), 'utf8')) as TranslationTree
    for (const [key, value] of Object.entries(tree)) {
      if (key in merged) throw new Error(`locales/${lang}/${file}: top-level key "${key}" is already defined by another file`)
      merged[key] = value
    }
  }
  return merged
}

/** Translations are read once, synchronously, at start-up: a broken locale file stops the app from starting. */
function loadTranslations() {
  const instance = i18next.createInstance()
  void instance.init({
    initAsync: false,
    lng: defaultLanguage,
    fallbackLng: defaultLanguage,
    supportedLngs: [...languages],
    ns: ['translation'],
    defaultNS: 'translation',
    resources: { da: { translation: readTranslations('da') }, en: { translation: readTranslations('en') } },
    // EJS escapes on output (<%= %>); escaping here as well would show "&amp;" on the page.
    interpolation: { escapeValue: false },
    returnNull: false,
  })
  return instance
}

/** The path and query of the request, with the path made safe to put back into a link on the same site. */
function splitUrl(originalUrl: string): { pathname: string; searchParams: URLSearchParams } {
  const at = originalUrl.indexOf('?')
  const rawPath = at < 0 ? originalUrl : originalUrl.slice(0, at)
  // "//host/x" or "/\host/x" would be read by a browser as another site: keep one leading slash.
  const pathname = `/${rawPath.replace(/^[/\\]+/, '')}`
  return { pathname, searchParams: new URLSearchParams(at < 0 ? '' : originalUrl.slice(at + 1)) }
}

/** The request's language: a valid `?lang=` on a GET, else the cookie, else Danish. */
function chooseLanguage(req: Request, searchParams: URLSearchParams): { lang: Language; fromQuery: boolean } {
  const query = req.method === 'GET' || req.method === 'HEAD' ? searchParams.get('lang') : null
  if (isLanguage(query)) return { lang: query, fromQuery: true }
  const cookie = readCookie(req.headers.cookie, LANG_COOKIE)
  return { lang: isLanguage(cookie) ? cookie : defaultLanguage, fromQuery: false }
}

/** The current path with `lang` set to the other language; every other query parameter is kept. */
export function languageSwitchUrl(pathname: string, searchParams: URLSearchParams, other: Language): string {
  const params = new URLSearchParams([['lang', other]])
  for (const [key, value] of searchParams) if (key !== 'lang') params.append(key, value)
  return `${pathname}?${params.toString()}`
}

type Translators = Record<Language, TFunction>

function languageMiddleware(config: Config, translators: Translators): RequestHandler {
  return (req, res, next) => {
    const { pathname, searchParams } = splitUrl(req.originalUrl)
    const { lang, fromQuery } = chooseLanguage(req, searchParams)
    if (fromQuery) {
      res.cookie(LANG_COOKIE, lang, { httpOnly: true, sameSite: 'lax', secure: config.production, maxAge: ONE_YEAR_MS, path: '/' })
    }
    // The same URL answers in two languages, depending on the cookie.
    res.vary('Cookie')
    const otherLang: Language = lang === 'da' ? 'en' : 'da'
    req.lang = lang
    res.locals.lang = lang
    res.locals.otherLang = otherLang
    res.locals.t = translators[lang]
    res.locals.formatDate = (value: Date | string) => formatDate(value, lang)
    res.locals.labelOf = (vocabulary: VocabularyName, code: string) => labelOf(lang, vocabulary, code)
    res.locals.formatDateTime = (value: Date | string) => formatDateTime(value, lang)
    res.locals.currentPath = pathname
    res.locals.langSwitchUrl = languageSwitchUrl(pathname, searchParams, otherLang)
    // The sign-in work sets these; the page frame reads them, so they must exist.
    if (!('user' in res.locals)) res.locals.user = undefined
    if (!('csrfToken' in res.locals)) res.locals.csrfToken = undefined
    next()
  }
}

export function setUpViews(app: Express, config: Config): void {
  app.set('view engine', 'ejs')
  app.set('views', path.join(projectRoot, 'views'))
  if (config.production) app.enable('view cache')
  else app.disable('view cache')

  const i18n = loadTranslations()
  const translators: Translators = { da: i18n.getFixedT('da'), en: i18n.getFixedT('en') }
  // Defaults for pages rendered before the middleware below ran (an error in an earlier handler): Danish.
  Object.assign(app.locals, {
    lang: defaultLanguage,
    otherLang: 'en',
    t: translators[defaultLanguage],
    formatDate: (value: Date | string) => formatDate(value, defaultLanguage),
    labelOf: (vocabulary: VocabularyName, code: string) => labelOf(defaultLanguage, vocabulary, code),
    formatDateTime: (value: Date | string) => formatDateTime(value, defaultLanguage),
    currentPath: '/',
    langSwitchUrl: '/?lang=en',
    user: undefined,
    csrfToken: undefined,
  })
  app.use(languageMiddleware(config, translators))
}
