// The search box in the header of every signed-in page (and the search
// page's own box): "/" focuses it, unless the person is typing somewhere
// else; Escape in an empty box gives the focus back. (Ctrl+K opens the
// jump-to-conversation dialog instead: static/js/jump-to.js.)

const box = () => document.getElementById("search-q") || document.getElementById("topbar-search-q");

function typingElsewhere(target) {
  if (!(target instanceof Element)) return false;
  return target.isContentEditable || !!target.closest("input, textarea, select, [contenteditable]");
}

document.addEventListener("keydown", (event) => {
  const input = box();
  if (!input || event.defaultPrevented || event.isComposing) return;
  const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingElsewhere(event.target);
  if (!slash) return;
  event.preventDefault();
  input.focus();
  input.select();
});

document.addEventListener("keydown", (event) => {
  const input = box();
  if (event.key === "Escape" && input && event.target === input && !input.value) input.blur();
});
