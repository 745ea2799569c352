// The release lifecycle in the UI: state badges ("Released B · C in work"), the Submit / Approve / Reject /
// Obsolete / Reinstate buttons (only where the server would allow them), and their comment dialogs.
import { api, session } from "./api.js";
import { basename, h, time } from "./dom.js";
import { field, formDialog, toast } from "./ui.js";

/** GET /api/lifecycle: the installation's settings and what this user may do; loaded once after login. */
export const policy = {
  value: { revision_scheme: "letters", release_approvals: 1, allow_self_approval: false, sees_work: true, can_approve: false },
  async load() {
    this.value = await api.get("/api/lifecycle");
    return this.value;
  },
  /** The shop floor's view: released revisions only (viewers, unless VIEWERS_SEE_WORK=true). */
  get floor() {
    return !this.value.sees_work;
  },
};

const me = () => session.user?.username;
const firstLabel = () => (policy.value.revision_scheme === "numeric" ? "1" : "A");

/** "Work in progress", "In review", "Released B", "Released B · C in work", "Obsolete (was B)". */
export function stateText(file) {
  const rev = file.revision;
  switch (file.state) {
    case "released":
      return file.lock ? `Released ${rev.label} · ${rev.next_label} in work` : `Released ${rev.label}`;
    case "in_review":
      return rev ? `Released ${rev.label} · ${rev.next_label} in review` : "In review";
    case "obsolete":
      return rev ? `Obsolete (was ${rev.label})` : "Obsolete";
    default:
      return rev ? `Released ${rev.label} · ${rev.next_label} in work` : "Work in progress";
  }
}

export function stateBadge(file) {
  if (file.deleted_at) return null;
  const text = stateText(file);
  const title = file.review ? `Version ${file.review.version} submitted by ${file.review.submitted_by}` : null;
  return h("span", { class: `badge state ${file.state}`, dataset: { state: file.state }, title }, text);
}

/** Who submitted the version in review and who approved it so far, for the file page. */
export function reviewDetails(file) {
  const review = file.review;
  if (!review) return null;
  const approved = review.approved_by.length ? ` Approved by ${review.approved_by.join(", ")}.` : "";
  return h(
    "p",
    { class: "review-details" },
    `Version ${review.version} is in review: submitted by ${review.submitted_by} `,
    time(review.submitted_at),
    `. ${review.approved_by.length} of ${review.approvals_required} approvals.${approved} `,
    h("a", { href: "#/reviews" }, "Reviews"),
  );
}

/** May this user approve (or reject) the file's open review? The server's rule, from the policy. */
export function mayApprove(file) {
  const review = file.review;
  if (!review || !policy.value.can_approve) return false;
  if (review.approved_by.includes(me())) return false;
  return review.submitted_by !== me() || policy.value.allow_self_approval;
}

/** May this user check the file out, as far as its state goes (locks decide the rest)? */
export function checkOutAllowed(file) {
  return file.state !== "in_review" && file.state !== "obsolete";
}

/** The lifecycle buttons for one file; `button(label, handler, cls)` and `run(fn)` come from fileActions. */
export function lifecycleButtons(file, button, run) {
  if (file.deleted_at || policy.floor) return [];
  const writer = ["admin", "user"].includes(session.user?.role);
  const buttons = [];
  if (writer && file.state === "wip" && !file.lock) buttons.push(button("Submit", run(() => submit(file))));
  if (file.state === "in_review" && mayApprove(file)) {
    buttons.push(button("Approve", run(() => approve(file)), "primary"));
    buttons.push(button("Reject", run(() => reject(file))));
  }
  if (policy.value.can_approve && file.revision && ["released", "wip"].includes(file.state) && !file.lock) {
    buttons.push(button("Obsolete", run(() => obsolete(file)), "danger"));
  }
  if (session.user?.role === "admin" && file.state === "obsolete") {
    buttons.push(button("Reinstate", run(() => reinstate(file))));
  }
  return buttons;
}

function commentDialog({ title, text, label, required = false, submitLabel, danger = false, send }) {
  const comment = h("textarea", { name: "comment", rows: 3, maxlength: 4000, required });
  return formDialog({
    title,
    body: [h("p", {}, text), field(label, comment, required ? "Required" : "Optional")],
    submitLabel,
    danger,
    submit: () => send(comment.value),
  });
}

async function submit(file) {
  const answer = await commentDialog({
    title: `Submit ${basename(file.path)}`,
    text: `Version ${file.version} goes to review: nobody can check it out until an approver approves or rejects it.`,
    label: "Note for the approver",
    submitLabel: "Submit for review",
    send: (comment) => api.post(`/api/files/${file.id}/submit`, { comment }),
  });
  if (!answer) return null;
  toast(`${file.path} submitted for review`, "success");
  return answer.file;
}

async function approve(file) {
  const review = file.review;
  const last = review.approved_by.length + 1 >= review.approvals_required;
  const answer = await commentDialog({
    title: `Approve ${basename(file.path)}`,
    text: last
      ? `Version ${review.version} becomes revision ${file.revision?.next_label ?? firstLabel()}: the shop floor gets it at once.`
      : `Approval ${review.approved_by.length + 1} of ${review.approvals_required} for version ${review.version}.`,
    label: "Comment",
    submitLabel: "Approve",
    send: (comment) => api.post(`/api/files/${file.id}/approve`, { comment }),
  });
  if (!answer) return null;
  toast(answer.released ? `${file.path} released as revision ${answer.released}` : `You approved ${file.path}`, "success");
  return answer.file;
}

async function reject(file) {
  const answer = await commentDialog({
    title: `Reject ${basename(file.path)}`,
    text: `Version ${file.review.version} goes back to ${file.review.submitted_by} as work in progress.`,
    label: "What has to change?",
    required: true,
    submitLabel: "Reject",
    danger: true,
    send: (comment) => api.post(`/api/files/${file.id}/reject`, { comment }),
  });
  if (!answer) return null;
  toast(`${file.path} rejected`, "success");
  return answer.file;
}

async function obsolete(file) {
  const answer = await commentDialog({
    title: `Make ${basename(file.path)} obsolete`,
    text: `Revision ${file.revision.label} leaves the shop floor and the released branch; nobody can check it out. An admin can reinstate it.`,
    label: "Why?",
    required: true,
    submitLabel: "Make obsolete",
    danger: true,
    send: (comment) => api.post(`/api/files/${file.id}/obsolete`, { comment }),
  });
  if (!answer) return null;
  toast(`${file.path} is obsolete`, "success");
  return answer.file;
}

async function reinstate(file) {
  const answer = await commentDialog({
    title: `Reinstate ${basename(file.path)}`,
    text: `Revision ${file.revision?.label} goes back to the shop floor.`,
    label: "Comment",
    submitLabel: "Reinstate",
    send: (comment) => api.post(`/api/files/${file.id}/reinstate`, { comment }),
  });
  if (!answer) return null;
  toast(`${file.path} reinstated`, "success");
  return answer.file;
}

export const reviewActions = { approve, reject };
