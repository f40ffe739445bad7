// A system message's words in the page's language ("Maria added Sam").
// The server stores them in English as `content` and keeps what they were
// made of in `metadata.notice`: one of the sentences below (the msgids of
// messaging/notices.py) and its values, a status or priority as its code.

import { gettext, interpolate, locale, pgettext } from "./i18n.js";

// Every sentence the server words, each marked for the djangojs catalog.
const SENTENCES = {
  "%(actor)s added %(names)s": gettext("%(actor)s added %(names)s"),
  "%(actor)s left": gettext("%(actor)s left"),
  "%(actor)s removed %(name)s": gettext("%(actor)s removed %(name)s"),
  "%(actor)s renamed the conversation to %(title)s": gettext("%(actor)s renamed the conversation to %(title)s"),
  "%(actor)s opened a support request (%(category)s): %(subject)s": gettext(
    "%(actor)s opened a support request (%(category)s): %(subject)s",
  ),
  "%(actor)s changed the status to %(status)s": gettext("%(actor)s changed the status to %(status)s"),
  "%(actor)s wrote again: the request is %(status)s": gettext("%(actor)s wrote again: the request is %(status)s"),
  "%(actor)s unassigned the request": gettext("%(actor)s unassigned the request"),
  "%(actor)s took the request": gettext("%(actor)s took the request"),
  "%(actor)s assigned the request to %(name)s": gettext("%(actor)s assigned the request to %(name)s"),
  "%(actor)s set the priority to %(priority)s": gettext("%(actor)s set the priority to %(priority)s"),
  "%(actor)s rated the support: satisfied": gettext("%(actor)s rated the support: satisfied"),
  "%(actor)s rated the support: not satisfied": gettext("%(actor)s rated the support: not satisfied"),
  "Imported from the old Messages page (%(status)s)": gettext("Imported from the old Messages page (%(status)s)"),
};

// The codes a notice stores, named as the support page names them
// (supportWord lowers them for the middle of a sentence, as the server does).
const CODED = {
  status: {
    open: pgettext("support status", "Open"),
    pending: pgettext("support status", "Pending"),
    resolved: pgettext("support status", "Resolved"),
    closed: pgettext("support status", "Closed"),
  },
  priority: {
    low: pgettext("support priority", "Low"),
    normal: pgettext("support priority", "Normal"),
    high: pgettext("support priority", "High"),
    urgent: pgettext("support priority", "Urgent"),
  },
};

// The default support categories' names (messaging/support/services/
// categories.py), which the server also words in the reader's language; a
// name an admin wrote stays as written.
const CATEGORY_NAMES = {
  "Technical support": gettext("Technical support"),
  Feedback: gettext("Feedback"),
  Complaint: gettext("Complaint"),
};

/** A support category's name in the page's language when it is a
 * default one; a name an admin wrote, as written. */
export function categoryName(name) {
  return Object.hasOwn(CATEGORY_NAMES, name) ? CATEGORY_NAMES[name] : String(name);
}

/** A support request's status or priority (`kind`) code as the support
 * page names it ("Resolved"); an unknown code as it is. */
export function supportLabel(kind, code) {
  const coded = CODED[kind];
  return coded && Object.hasOwn(coded, code) ? coded[code] : String(code);
}

/** The same in the middle of a sentence ("resolved"). */
export function supportWord(kind, code) {
  const coded = CODED[kind];
  return coded && Object.hasOwn(coded, code) ? coded[code].toLocaleLowerCase(locale) : String(code);
}

/** The words of a system message in the page's language: its notice when
 * it has one this page knows, else its stored `content`. */
export function noticeText(message) {
  const notice = message.metadata && message.metadata.notice;
  const sentence = notice && typeof notice.text === "string" ? SENTENCES[notice.text] : undefined;
  if (!sentence || !notice.values || typeof notice.values !== "object") return message.content || "";
  // In a right-to-left page a name, category or subject is isolated
  // (FSI … PDI), as the server words it (messaging/notices.py): it keeps its
  // own direction without reordering the sentence's punctuation, nor
  // setting the direction of a line (dir="auto") that starts with it.
  const isolate = document.documentElement.dir === "rtl";
  const values = {};
  for (const [key, value] of Object.entries(notice.values)) {
    if (Object.hasOwn(CODED, key) && Object.hasOwn(CODED[key], value)) {
      values[key] = supportWord(key, value);
      continue;
    }
    const words = key === "category" ? categoryName(value) : String(value);
    values[key] = isolate ? `\u2068${words}\u2069` : words;
  }
  return interpolate(sentence, values);
}
