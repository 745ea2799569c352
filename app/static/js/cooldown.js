// The cooldown after a check-in: for EDIT_COOLDOWN_SECONDS only its author may check the file out. Others
// see the time left on a disabled Check out button, counting down by the server's clock, enabled at the end.
import { session } from "./api.js";
import { live } from "./live.js";

/** Seconds until the file may be checked out by the current user (0: now). */
export function cooldownLeft(file) {
  if (!file.cooldown_until || file.lock || file.cooldown_user_id === session.user?.id) return 0;
  return Math.max(0, Math.ceil((Date.parse(file.cooldown_until) - live.now()) / 1000));
}

/** Disable `button` until the cooldown ends, showing the seconds left; it stops once the button has left the page. */
export function whileCooling(button, file) {
  const label = button.textContent;
  let shown = false; // built before it is inserted: only a button that was shown and then left stops early
  const tick = () => {
    shown ||= button.isConnected;
    const left = cooldownLeft(file);
    if (left <= 0 || (shown && !button.isConnected)) {
      clearInterval(timer);
      button.disabled = false;
      button.textContent = label;
      button.removeAttribute("title");
      delete button.dataset.cooldown;
      return;
    }
    button.disabled = true;
    button.dataset.cooldown = String(left);
    button.textContent = `${label} (${left} s)`;
    button.title = `Just checked in: it can be checked out in ${left} s`;
  };
  const timer = setInterval(tick, 250);
  tick();
}
