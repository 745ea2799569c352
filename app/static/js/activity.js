// Other people's changes as notices: one notice per change, however many events it sends, and a burst of
// the same kind of change by one person as one notice ("anna uploaded 4 files").
//
// A check-in with new content sends `file_uploaded` (the version) and `file_unlocked` (the lock): both join
// the person's check-in group. A folder move sends one `file_moved` per file and a `folder_moved`: the
// files join the folder's group. A group takes more events while its notice shows.
import { actorOf, describeEvent, FOLDER_EVENTS, live, VAULT_EVENTS } from "./live.js";
import { policy } from "./lifecycle.js";
import { noticeOpen, toast } from "./ui.js";

// The shop floor hears only what reaches it.
const FLOOR_NEWS = new Set(["file_released", "file_obsoleted", "file_reinstated", "files_adopted"]);

const groups = new Map(); // key -> {ids: Set, last: message, text: (group) => string}

function kindOf(m) {
  if (m.type === "file_uploaded") return m.new_file ? "upload" : "checkin";
  if (m.type === "file_unlocked" && m.reason === "checkin") return "checkin";
  if (m.type === "file_moved") return m.folder ? `folder:${m.folder}` : "move";
  if (m.type === "folder_moved") return `folder:${m.old_path}`;
  return m.type;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function describe(kind, group) {
  const m = group.last;
  const n = group.ids.size;
  if (kind === "upload") return n === 1 ? describeEvent(m) : `${m.user} uploaded ${plural(n, "file")}`;
  if (kind === "checkin") {
    if (n > 1) return `${m.user} checked in ${plural(n, "file")}`;
    const version = group.version ? ` version ${group.version} of` : "";
    return `${m.user} checked in${version} ${m.path}`;
  }
  if (kind === "move") return n === 1 ? describeEvent(m) : `${m.user} moved ${plural(n, "file")}`;
  if (kind.startsWith("folder:")) {
    const folder = group.folder;
    return folder ? describeEvent(folder) : `${m.user} is moving ${plural(n, "file")}`;
  }
  return n === 1 ? describeEvent(m) : `${describeEvent(m)} (and ${n - 1} more)`;
}

function receive(m) {
  const actor = actorOf(m);
  if (actor && actor === live.me?.username) return; // your own actions: the page already said so
  if (policy.floor && !FLOOR_NEWS.has(m.type)) return;
  const kind = kindOf(m);
  const key = `${actor ?? "system"}:${kind}`;
  let group = groups.get(key);
  if (!group || !noticeOpen(key)) {
    group = { ids: new Set(), last: m, version: null, folder: null };
    groups.set(key, group);
  }
  group.ids.add(m.file_id ?? m.path);
  group.last = m;
  if (m.type === "file_uploaded" && !m.new_file) group.version = m.version;
  if (m.type === "folder_moved") group.folder = m;
  // A folder's files arrive before the folder's own event: say nothing until it comes.
  if (kind.startsWith("folder:") && !group.folder) return;
  toast(describe(kind, group), "info", key);
}

export function showActivity() {
  for (const type of [...VAULT_EVENTS, ...FOLDER_EVENTS]) live.on(type, receive);
}
