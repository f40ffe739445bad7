/**
 * What a screen reader hears when the page changes by itself. Two regions in
 * base.html: `#live-region` (polite: a message that arrived, a preview
 * ready) and `#alert-region` (assertive: an error, the connection going
 * offline or coming back). Each announcement is a new node, so the same
 * words twice are spoken twice; old ones are trimmed.
 */

const KEEP = 5;

function speak(regionId, text) {
  const region = document.getElementById(regionId);
  if (!region || !text) return;
  const item = document.createElement("p");
  item.textContent = text;
  region.append(item);
  while (region.childElementCount > KEEP) region.firstElementChild.remove();
}

/** Polite: read when the reader is idle. */
export function announce(text) {
  speak("live-region", text);
}

/** Assertive: read at once (errors, connection state). */
export function alertNow(text) {
  const region = document.getElementById("alert-region");
  // role=alert regions speak a replaced text; keep only the newest.
  if (region) region.replaceChildren();
  speak("alert-region", text);
}
