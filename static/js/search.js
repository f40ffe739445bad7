// The search page's "More results" without leaving the page: the next page
// is fetched as the server renders it (the link's own URL) and its hits are
// added below, into the last conversation's list when the next page goes
// on in the same conversation, as new conversation groups otherwise. The
// first new hit takes the focus. Without JavaScript the link opens that
// page; if the fetch fails, it does too. The outcome of a search (the
// count, or that nothing matched) is announced when the page opens: a status
// region already filled at load is not read out.

import { gettext, interpolate } from "./i18n.js";
import { announce } from "./announce.js";
import { localizeTimes } from "./render.js";

const results = document.getElementById("search-results");
const more = document.getElementById("search-more");

async function nextPage(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) throw new Error(`search answered ${response.status}`);
  return new DOMParser().parseFromString(await response.text(), "text/html");
}

/** Add the groups of `page` to the list; returns [hits added, first new hit]. */
function addGroups(page) {
  let added = 0;
  let first = null;
  for (const group of page.querySelectorAll("#search-results > li.search-group")) {
    const hits = [...group.querySelectorAll(".search-hits > li")].map((hit) => document.importNode(hit, true));
    if (!hits.length) continue;
    const last = results.lastElementChild;
    if (last && last.dataset.conversationId === group.dataset.conversationId) {
      last.querySelector(".search-hits").append(...hits);
    } else {
      const fresh = document.importNode(group, true);
      fresh.querySelector(".search-hits").replaceChildren(...hits);
      results.append(fresh);
    }
    first = first || hits[0];
    added += hits.length;
  }
  return [added, first];
}

/** The count (a status region, so the new range is announced): from the
 * first hit on this page to the last one added. */
function showCount(last, hasMore) {
  const count = document.getElementById("search-count");
  if (!count || !last) return;
  count.dataset.last = last;
  const sentence = hasMore ? gettext("Results %(first)s–%(last)s; there are more") : gettext("Results %(first)s–%(last)s");
  count.textContent = interpolate(sentence, { first: count.dataset.first, last });
}

if (results && more) {
  more.addEventListener("click", async (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (more.getAttribute("aria-disabled") === "true") return;
    const url = more.href;
    more.setAttribute("aria-disabled", "true");
    more.textContent = gettext("Loading more results…");
    let page;
    try {
      page = await nextPage(url);
    } catch (error) {
      window.location.assign(url);
      return;
    }
    const [added, first] = addGroups(page);
    localizeTimes(results);
    const next = page.getElementById("search-more");
    showCount(page.getElementById("search-count")?.dataset.last, Boolean(next));
    if (next) {
      more.href = next.getAttribute("href");
      more.textContent = gettext("More results");
      more.removeAttribute("aria-disabled");
    } else {
      more.remove();
    }
    if (added) first.querySelector("a")?.focus();
  });
}

const outcome = document.querySelector("#search-count, #search-empty");
if (outcome) announce(outcome.textContent);
