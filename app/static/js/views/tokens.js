// Personal access tokens: the password git and git-lfs send (HTTP Basic) instead of the account password.
import { api } from "../api.js";
import { h, replace, time } from "../dom.js";
import { confirmDialog, field, toast } from "../ui.js";

export function renderTokens(root) {
  const cloneUrl = `${location.origin}/git/vault.git`;
  const body = h("tbody");
  const summary = h("p", { class: "muted", role: "status" });
  const name = h("input", { name: "name", required: true, maxlength: 100, autocomplete: "off", placeholder: "e.g. laptop git" });
  const days = h("input", { name: "expires_in_days", type: "number", min: 1, max: 3650, placeholder: "never" });
  const fresh = h("section", { class: "new-token", hidden: true, "aria-label": "New token" });

  function row(token) {
    const tr = h(
      "tr",
      { dataset: { tokenId: String(token.id) } },
      h("td", {}, token.name),
      h("td", { class: "mono" }, `${token.hint}…`),
      h("td", {}, time(token.created_at)),
      h("td", {}, token.expires_at ? time(token.expires_at) : h("span", { class: "muted" }, "never")),
      h("td", {}, time(token.last_used_at)),
      h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Revoke ${token.name}`, onclick: () => revoke(token, tr) }, "Revoke")),
    );
    return tr;
  }

  function count() {
    const n = body.children.length;
    replace(summary, n ? `${n} token${n === 1 ? "" : "s"}` : "No tokens yet.");
  }

  async function load() {
    try {
      body.replaceChildren(...(await api.get("/api/users/me/access-tokens")).map(row));
      count();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  function showSecret(token) {
    const secret = h("input", { class: "mono", readonly: true, value: token.token, "aria-label": "New token", size: 50 });
    const copy = h("button", { type: "button", class: "primary" }, "Copy");
    copy.addEventListener("click", async () => {
      secret.select();
      try {
        await navigator.clipboard.writeText(token.token);
        toast("Token copied", "success");
      } catch {
        toast("Copy it from the field (Ctrl+C): the browser refused the clipboard", "info");
      }
    });
    const done = h("button", { type: "button" }, "Done");
    done.addEventListener("click", () => {
      fresh.hidden = true;
      fresh.replaceChildren(); // the secret leaves the page
    });
    replace(
      fresh,
      h("h2", {}, `Token “${token.name}”`),
      h("p", {}, "Copy it now: it is shown only this once. Use it as the password, with your username, in git or git-lfs."),
      h("div", { class: "toolbar" }, secret, copy, done),
    );
    fresh.hidden = false;
    secret.select();
  }

  async function create(event) {
    event.preventDefault();
    try {
      const token = await api.post("/api/users/me/access-tokens", {
        name: name.value.trim(),
        expires_in_days: days.value ? Number(days.value) : null,
      });
      form.reset();
      showSecret(token);
      body.prepend(row(token));
      count();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async function revoke(token, tr) {
    const ok = await confirmDialog(`Revoke “${token.name}”`, "Anything that uses this token stops working at once.", "Revoke", true);
    if (!ok) return;
    try {
      await api.delete(`/api/users/me/access-tokens/${token.id}`);
      tr.remove();
      count();
      toast(`Token “${token.name}” revoked`, "success");
    } catch (err) {
      toast(err.message, "error");
    }
  }

  const form = h(
    "form",
    { class: "toolbar", "aria-label": "New access token", onsubmit: create },
    field("Name", name),
    field("Expires after (days)", days, "Empty: until you revoke it."),
    h("button", { type: "submit", class: "primary" }, "Create token"),
  );
  replace(
    root,
    h("h1", {}, "Access tokens"),
    h(
      "p",
      {},
      "Git and git-lfs log in with your username and a token instead of your password. Clone the vault with ",
      h("code", { class: "mono" }, `git clone ${cloneUrl}`),
      ". A password change ends every token.",
    ),
    form,
    fresh,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "tokens" }, h("thead", {}, h("tr", {}, ["Name", "Starts with", "Created", "Expires", "Last used", "Actions"].map((t) => h("th", { scope: "col" }, t)))), body),
    ),
    summary,
  );
  load();
  return () => {};
}
