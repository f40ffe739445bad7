// The notification settings page: a person who never chose a time zone is
// offered their browser's instead of UTC (saved only when they save); and
// "Saved", shown when the page comes back from saving, is also announced
// (a status region already filled when the page loads is not read out).

import { announce } from "./announce.js";
import { gettext, interpolate } from "./i18n.js";
import { browserZone as zoneOfBrowser } from "./zones.js";

const select = document.getElementById("id_time_zone");
if (select && select.dataset.zoneChosen === "false") {
  const browserZone = zoneOfBrowser();
  const known = [...select.options].some((option) => option.value === browserZone);
  if (browserZone && known && select.value !== browserZone) {
    select.value = browserZone;
    const hint = document.getElementById("time-zone-hint");
    if (hint) hint.textContent = interpolate(gettext("Taken from your browser (%(zone)s); save to keep it."), { zone: browserZone });
  }
}

const saved = document.querySelector(".flash-stack .flash-success");
if (saved) announce(saved.textContent);

// Not saved: the summary at the top takes the focus (and the page scrolls
// there), where a mistake below the fold would have gone unseen.
document.getElementById("settings-errors")?.focus();
