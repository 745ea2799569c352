// Reviews: what awaits my approval, what I submitted, everything open; each with the diff against the file's
// last released revision one click away, and Approve / Reject where I may.
import { api } from "../api.js";
import { h, replace, time } from "../dom.js";
import { policy, reviewActions } from "../lifecycle.js";
import { LIFECYCLE_EVENTS, live } from "../live.js";
import { pagedLoads, toast } from "../ui.js";
import { showDiff } from "./file.js";

const SECTIONS = [
  ["awaiting", "Awaiting your approval", "Nothing awaits your approval."],
  ["submitted", "Submitted by you", "You have submitted nothing yet."],
  ["open", "All open reviews", "No file is in review."],
];

export function renderReviews(root) {
  const sections = SECTIONS.filter(([scope]) => scope !== "awaiting" || policy.value.can_approve).map(([scope, title, empty]) => {
    const body = h("tbody");
    const more = h("button", { type: "button", hidden: true }, "Load more");
    const summary = h("p", { class: "muted", role: "status" });
    const table = h(
      "table",
      { class: "reviews", dataset: { scope } },
      h("thead", {}, h("tr", {}, ["File", "Version", "Submitted", "Note", "Approvals", "Status", ""].map((t) => h("th", { scope: "col" }, t)))),
      body,
    );
    const section = h("section", { class: "review-section", "aria-label": title }, h("h2", {}, title), h("div", { class: "table-wrap" }, table), summary, more);
    return { scope, empty, body, more, summary, section, cursor: null };
  });

  function row(review, section) {
    const diffRow = h("tr", { class: "review-diff", hidden: true }, h("td", { colspan: 7 }));
    const toggle = h("button", { type: "button", "aria-expanded": "false", title: review.path }, review.base ? `Diff with ${review.base.label}` : "Content");
    toggle.addEventListener("click", async () => {
      const open = diffRow.hidden;
      diffRow.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (!open) return;
      const cell = diffRow.firstChild;
      if (!review.base) {
        replace(cell, h("p", {}, "First release: no earlier revision to compare with. "), h("a", { href: `#/file/${review.file_id}` }, "Open the file"));
        return;
      }
      try {
        await showDiff(cell, review.file_id, review.base.version, review.version);
      } catch (err) {
        replace(cell, h("p", { class: "form-error", role: "alert" }, err.message));
      }
    });
    const act = (action) => async () => {
      try {
        const file = await api.get(`/api/files/${review.file_id}`);
        if (await reviewActions[action](file)) reload();
      } catch (err) {
        toast(err.message, "error");
      }
    };
    const approvals = review.approvals.map((a) => a.user).join(", ");
    const status = review.status === "approved" && review.revision ? `released as ${review.revision}` : review.status;
    const tr = h(
      "tr",
      { dataset: { reviewId: review.id, path: review.path, scope: section.scope } },
      h("td", { class: "name" }, h("a", { href: `#/file/${review.file_id}` }, review.path)),
      h("td", { class: "num" }, `v${review.version}`),
      h("td", {}, review.submitted_by, " ", time(review.submitted_at)),
      h("td", { class: "message" }, review.comment),
      h("td", {}, `${review.approvals.length} of ${review.approvals_required}`, approvals ? h("span", { class: "muted" }, ` (${approvals})`) : null),
      h("td", { class: "review-status" }, status, review.close_comment ? h("span", { class: "muted" }, `: ${review.close_comment}`) : null),
      h(
        "td",
        {},
        h(
          "div",
          { class: "actions" },
          toggle,
          review.can_approve ? h("button", { type: "button", class: "primary", "aria-label": `Approve ${review.path}`, onclick: act("approve") }, "Approve") : null,
          review.can_approve ? h("button", { type: "button", "aria-label": `Reject ${review.path}`, onclick: act("reject") }, "Reject") : null,
        ),
      ),
    );
    return [tr, diffRow];
  }

  // Live events reload the sections: an earlier reload answering after a later one must not redraw older rows.
  for (const section of sections) {
    section.load = pagedLoads(
      section.more,
      (first) => api.get("/api/reviews", { scope: section.scope, cursor: first ? undefined : section.cursor, limit: 50 }),
      (page, first) => {
        if (first) section.body.replaceChildren();
        for (const review of page.items) section.body.append(...row(review, section));
        section.cursor = page.next_cursor;
        section.more.hidden = !page.next_cursor;
        replace(section.summary, section.body.querySelector("tr[data-review-id]") ? "" : section.empty);
      },
    );
  }

  function reload() {
    for (const section of sections) section.load(true);
  }
  for (const section of sections) section.more.addEventListener("click", () => section.load(false));

  let debounce = null;
  const later = () => {
    clearTimeout(debounce);
    debounce = setTimeout(reload, 150);
  };
  const unsubscribe = [...LIFECYCLE_EVENTS.map((type) => live.on(type, later)), live.on("resync", reload), live.on("reconnected", reload)];

  replace(root, h("h1", {}, "Reviews"), sections.map((s) => s.section));
  reload();
  live.viewing(null);
  return () => {
    clearTimeout(debounce);
    unsubscribe.forEach((off) => off());
  };
}
