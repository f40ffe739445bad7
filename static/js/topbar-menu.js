// The top bar's menu button: on screens too narrow for every link (below
// 1440 px, see .topbar[data-menu] in parley.css) the navigation, the
// notification settings, the profile and "Log out" fold behind it. Without
// JavaScript the bar simply wraps, so nothing is ever out of reach.

const bar = document.querySelector(".topbar");
const toggle = document.getElementById("menu-toggle");
const menu = document.getElementById("topbar-menu");

function setOpen(open) {
  toggle.setAttribute("aria-expanded", String(open));
}

if (bar && toggle && menu) {
  bar.dataset.menu = "collapsible";
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  // Escape in the open menu, or on its button, closes it; the focus is (or
  // goes back) on the button.
  const closeOnEscape = (event) => {
    if (event.key !== "Escape" || toggle.getAttribute("aria-expanded") !== "true") return;
    if (getComputedStyle(toggle).display === "none") return; // wide: not a menu
    event.preventDefault();
    setOpen(false);
    toggle.focus();
  };
  menu.addEventListener("keydown", closeOnEscape);
  toggle.addEventListener("keydown", closeOnEscape);
  // Focus or a click leaving the bar closes the menu: it never hides what the person went to.
  document.addEventListener("focusin", (event) => {
    if (!bar.contains(event.target)) setOpen(false);
  });
  document.addEventListener("click", (event) => {
    if (!bar.contains(event.target)) setOpen(false);
  });
}
