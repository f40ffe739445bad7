/**
 * Giving the focus back when a modal <dialog> closes. The close event comes
 * a task after the close, and the person can act in between (Escape on a
 * message goes to the composer; a click lands elsewhere): that move stands.
 * Closing a modal dialog leaves the focus on the page's body, or on what
 * had it before the dialog opened; only then is it put back.
 */
export function focusLeftBehind(dialog, ...before) {
  const at = document.activeElement;
  return !at || at === document.body || dialog.contains(at) || before.some((node) => node?.contains(at));
}
