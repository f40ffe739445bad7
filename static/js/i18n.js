/**
 * Translations and locale for every module: Django's JavaScriptCatalog
 * (/jsi18n/, loaded as a classic script by base.html before any module)
 * defines the gettext family on window; this module hands them on, so a
 * string is marked as `gettext("…")` where it is written and
 * `makemessages -d djangojs` finds it.
 *
 * Numbers and dates follow the page's language (`<html lang>`); times are
 * shown in the device's time zone, the clock the person is living by.
 */

const catalog = window;

/** The string in the page's language. */
export function gettext(text) {
  return catalog.gettext ? catalog.gettext(text) : text;
}

/** Singular or plural by `count`, in the page's language. */
export function ngettext(singular, plural, count) {
  if (catalog.ngettext) return catalog.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** A string with a context, for words that translate differently by use. */
export function pgettext(context, text) {
  return catalog.pgettext ? catalog.pgettext(context, text) : text;
}

/**
 * `%(name)s` placeholders filled from `values`: translations may reorder
 * them, so every placeholder is named.
 */
export function interpolate(text, values) {
  return text.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}

/** The page's language, for Intl formatters and collation. */
export const locale = document.documentElement.lang || "en";

/** The page's writing direction ("ltr" or "rtl"). */
export const direction = document.documentElement.dir || "ltr";

/** An Intl.DateTimeFormat in the page's language. */
export function dateFormat(options) {
  return new Intl.DateTimeFormat(locale, options);
}

/** A number in the page's language. */
export function formatNumber(value) {
  return new Intl.NumberFormat(locale).format(value);
}
