// The forms of a server-rendered page, read as a browser would submit them, so the suite can fill and send any
// form the app shows (including forms added later) without a hand-written body per route.

export interface FormField {
  tag: 'input' | 'textarea' | 'select'
  name: string
  /** input type (text when absent); 'textarea' and 'select' for those. */
  type: string
  value: string
  checked: boolean
  /** Options of a select, in order. */
  options: { value: string; selected: boolean }[]
}

export interface Form {
  method: string
  /** The path the form posts to (query kept), '' when it has no action (posts to the page itself). */
  action: string
  enctype: string
  fields: FormField[]
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)))
    return ENTITIES[entity.toLowerCase()] ?? match
  })
}

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  const body = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '')
  for (const m of body.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return attrs
}

/** Every form of the page, with its fields (disabled fields and nameless ones left out, as a browser does). */
export function parseForms(html: string): Form[] {
  const forms: Form[] = []
  for (const match of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(/<form\b[^>]*>/i.exec(match[0])![0])
    const inner = match[1]!
    const fields: FormField[] = []
    const tags = /<input\b[^>]*>|<textarea\b[^>]*>([\s\S]*?)<\/textarea>|<select\b[^>]*>([\s\S]*?)<\/select>/gi
    for (const t of inner.matchAll(tags)) {
      const open = /^<[a-z]+\b[^>]*>/i.exec(t[0])![0]
      const a = attributes(open)
      if (!a.name || 'disabled' in a) continue
      if (/^<input/i.test(open)) {
        fields.push({ tag: 'input', name: a.name, type: (a.type ?? 'text').toLowerCase(), value: a.value ?? '', checked: 'checked' in a, options: [] })
      } else if (/^<textarea/i.test(open)) {
        fields.push({ tag: 'textarea', name: a.name, type: 'textarea', value: decodeEntities(t[1] ?? '').replace(/^\r?\n/, ''), checked: false, options: [] })
      } else {
        const options = [...(t[2] ?? '').matchAll(/<option\b[^>]*>/gi)].map((o) => {
          const oa = attributes(o[0])
          return { value: oa.value ?? '', selected: 'selected' in oa }
        })
        fields.push({ tag: 'select', name: a.name, type: 'select', value: '', checked: false, options })
      }
    }
    forms.push({ method: (attrs.method ?? 'get').toUpperCase(), action: attrs.action ?? '', enctype: (attrs.enctype ?? 'application/x-www-form-urlencoded').toLowerCase(), fields })
  }
  return forms
}

/** Fields a person types into (the ones that take free text or could carry a payload). */
export const isTypedField = (field: FormField) =>
  field.tag === 'textarea' || (field.tag === 'input' && ['text', 'search', 'email', 'tel', 'url', 'number', 'date', 'datetime-local', 'time', 'month', 'week', 'password'].includes(field.type))

/**
 * The form as a careful user submits it: what the page filled in; an empty text field gets `typed[name]` when
 * the suite knows a valid value for that name; a select left on its empty "choose" option gets its first real
 * option; a radio group with nothing chosen gets its first option. Buttons, files and unchecked boxes send nothing.
 */
export function completed(form: Form, typed: Record<string, () => string> = {}): Record<string, string> {
  const values: Record<string, string> = {}
  const radios = new Map<string, FormField[]>()
  for (const field of form.fields) {
    if (field.tag === 'select') {
      const chosen = field.options.find((o) => o.selected) ?? field.options[0]
      const value = chosen?.value ?? ''
      values[field.name] = value !== '' ? value : (field.options.find((o) => o.value !== '')?.value ?? '')
    } else if (field.tag === 'input' && field.type === 'radio') {
      radios.set(field.name, [...(radios.get(field.name) ?? []), field])
    } else if (field.tag === 'input' && field.type === 'checkbox') {
      if (field.checked) values[field.name] = field.value || 'on'
    } else if (field.tag === 'input' && ['submit', 'button', 'reset', 'image', 'file'].includes(field.type)) {
      continue
    } else {
      values[field.name] = field.value === '' && typed[field.name] ? typed[field.name]!() : field.value
    }
  }
  for (const [name, group] of radios) values[name] = (group.find((f) => f.checked) ?? group[0]!).value
  return values
}

/** The form of `html` that posts to `action` (a path; the page's own path when the form has no action). */
export function formPostingTo(html: string, action: string, pagePath: string): Form | undefined {
  return parseForms(html).find((form) => form.method === 'POST' && pathOf(form.action || pagePath) === pathOf(action))
}

const pathOf = (url: string) => url.split('#')[0]!.split('?')[0]!
