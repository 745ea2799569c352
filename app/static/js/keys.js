// Keyboard shortcuts for the whole page: `/` goes to the search box (as on most sites with one).

function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function installShortcuts() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingIn(event.target) || document.querySelector("dialog[open]")) return;
    const search = document.querySelector("main input[type=search]");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });
}
