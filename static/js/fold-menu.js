// A row of controls that folds behind a button when the screen is too
// narrow for it (the top bar's links, a conversation's header actions).
// The CSS decides when: it shows the button only where the container has
// data-menu (set here, so without JavaScript the row simply wraps and
// nothing is out of reach) and hides the row while the button says
// aria-expanded="false".

/** Fold ``menu`` behind ``toggle`` inside ``container``. */
export function foldMenu(container, toggle, menu) {
  if (!container || !toggle || !menu) return;
  const setOpen = (open) => toggle.setAttribute("aria-expanded", String(open));
  const isMenu = () => getComputedStyle(toggle).display !== "none"; // wide: not a menu
  container.dataset.menu = "collapsible";
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  // Escape in the open menu, or on its button, closes it; the focus is (or
  // goes back) on the button.
  const closeOnEscape = (event) => {
    if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true" || !isMenu()) return;
    event.preventDefault();
    setOpen(false);
    toggle.focus();
  };
  menu.addEventListener("keydown", closeOnEscape);
  toggle.addEventListener("keydown", closeOnEscape);
  // Focus or a click leaving the container closes the menu: it never hides
  // what the person went to. A dialog opened from the menu (pinned
  // messages, the safety number) is not leaving it: the menu stays open
  // under the dialog, so the focus can go back to its button afterwards.
  const left = (target) => !container.contains(target) && !target.closest?.("dialog[open]");
  document.addEventListener("focusin", (event) => {
    if (left(event.target)) setOpen(false);
  });
  document.addEventListener("click", (event) => {
    if (left(event.target)) setOpen(false);
  });
}
