// The login form: username or email, password; JSON login so either works.
import { request, session } from "../api.js";
import { h, replace } from "../dom.js";
import { field } from "../ui.js";

export function renderLogin(root, { reason, onLoggedIn }) {
  const login = h("input", { name: "login", id: "login", required: true, autocomplete: "username", autofocus: true });
  const password = h("input", { name: "password", id: "password", type: "password", required: true, autocomplete: "current-password" });
  const error = h("p", { class: "form-error", role: "alert", hidden: !reason }, reason || "");
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h(
    "form",
    { class: "login", "aria-label": "Log in" },
    h("h1", {}, "camvault"),
    h("p", { class: "muted" }, "Parts data management: check out, edit, check in."),
    field("Username or email", login),
    field("Password", password),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const answer = await request("POST", "/api/auth/token", { json: { login: login.value.trim(), password: password.value }, auth: false });
      session.token = answer.access_token;
      session.user = answer.user;
      onLoggedIn();
    } catch (err) {
      replace(error, err.status === 429 ? `Too many attempts. ${err.message}` : err.message);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, form);
  login.focus();
  return () => {};
}
