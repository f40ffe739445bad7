// The notification settings page: a person who never chose a time zone is
// offered their browser's instead of UTC (saved only when they save).

const select = document.getElementById("id_time_zone");
if (select && select.dataset.zoneChosen === "false") {
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const known = [...select.options].some((option) => option.value === browserZone);
  if (browserZone && known && select.value !== browserZone) {
    select.value = browserZone;
    const hint = document.getElementById("time-zone-hint");
    if (hint) hint.textContent = `Taken from your browser (${browserZone}); save to keep it.`;
  }
}
