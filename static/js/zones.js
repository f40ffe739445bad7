// Time zones in the browser.
//
// A scheduled message is written on the clocks of the person's zone: their
// profile's, or, while the profile still says UTC (someone who never chose
// one), the browser's, as the notification settings page offers it; the
// dialog names it and sends it with the time. A reminder is set on the
// browser's clock, its presets ("tomorrow at 9:00") as its custom time.

/** The browser's own zone (undefined if it names none). */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
}

/** The profile's zone (body data-time-zone), "UTC" when none is said. */
export function profileZone() {
  return document.body.dataset.timeZone || "UTC";
}

/** The zone a scheduled message's time is chosen on (see above). */
export function clockZone() {
  const profile = profileZone();
  return profile !== "UTC" ? profile : browserZone() || profile;
}

/** `date` (now by default) as a datetime-local value ("2027-03-01T09:05")
 * on the clocks of `zone` (the browser's when undefined). */
export function wallClock(zone, date = new Date()) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    }).formatToParts(date).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}
